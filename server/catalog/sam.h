/* sam.h — the NTLM account file FreeRDP's NLA server reads (NtlmSamFile):
 * lines "USER:DOMAIN:LMHASH:NTHASH:::". The NT hash is MD4 of the UTF-16LE
 * password, made with WinPR (ConvertToUnicode, NTOWFv1W) as NTLM makes it.
 * Debian's WinPR takes MD4 from OpenSSL 3, which has it only in its legacy
 * provider, so sam_md4_ok() says at start whether NLA can work at all. */
#ifndef RDPFAULT_SAM_H
#define RDPFAULT_SAM_H

#include <stddef.h>

/* 1 when WinPR can hash (MD4 from the default library context), else 0. */
int sam_md4_ok(void);

/* NT hash of `password` (UTF-8): MD4 of its UTF-16LE form, 16 bytes.
 * Returns 0, or -1 (MD4 unavailable; invalid UTF-8: overlong forms,
 * surrogates, past U+10FFFF, cut short). */
int sam_nt_hash(const char *password, unsigned char out[16]);

/* The same as 32 lowercase hex digits + NUL into out[33]. */
int sam_nt_hash_hex(const char *password, char out[33]);

/* One SAM line for the account, with "\n", into out. Returns 0 or -1 (also
 * when a field holds ':' or a newline, or out is too small). */
int sam_format_line(const char *user, const char *domain, const char *password, char *out,
                    size_t n);

#endif
