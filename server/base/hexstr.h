/* hexstr.h — bytes as lowercase hex text, for the event log and the
 * account files. No dependency: part of the floor. */
#ifndef RDPFAULT_HEXSTR_H
#define RDPFAULT_HEXSTR_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2 * n hex digits and a NUL into out (2 * n + 1 bytes). */
void hex_encode(const uint8_t *b, size_t n, char *out);

#endif
