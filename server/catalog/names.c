/* names.c — the words of each enumeration in scenario files, both ways:
 * the tables the schema reads them with, and a value back to its word. */
#include "catalog/loader.h"

#include <stdio.h>
#include <string.h>

const struct name_val ld_protocol_names[] = {
        {"rdp", SC_PROTO_RDP},
        {"tls", SC_PROTO_TLS},
        {"nla", SC_PROTO_NLA},
        {NULL, 0},
};

/* Values are MS-RDPBCGR's ENCRYPTION_LEVEL_* (2.2.1.4.3). */
const struct name_val ld_enclevel_names[] = {
        {"none", SC_ENC_NONE},                           /* ENCRYPTION_LEVEL_NONE */
        {"low", SC_ENC_LOW},                             /* ENCRYPTION_LEVEL_LOW */
        {"client-compatible", SC_ENC_CLIENT_COMPATIBLE}, /* ENCRYPTION_LEVEL_CLIENT_COMPATIBLE */
        {"high", SC_ENC_HIGH},                           /* ENCRYPTION_LEVEL_HIGH */
        {"fips", SC_ENC_FIPS},                           /* ENCRYPTION_LEVEL_FIPS */
        {NULL, 0},
};

const struct name_val ld_tls_names[] = {
        {"1.0", 0x0301}, {"1.1", 0x0302}, {"1.2", 0x0303}, {"1.3", 0x0304}, {NULL, 0},
};

const struct name_val ld_digest_names[] = {
        {"sha1", 0}, {"sha256", 0}, {"sha384", 0}, {"sha512", 0}, {NULL, 0},
};

const struct name_val ld_key_names[] = {
        {"matching", 0},
        {"mismatched", 1},
        {NULL, 0},
};

const struct name_val ld_result_names[] = {
        {"connected", 0}, {"failed", 0}, {"retries-forever", 0}, {"hangs", 0}, {NULL, 0},
};

const struct name_val ld_policy_names[] = {
        {"syn-drop", SC_POLICY_SYN_DROP},
        {"accept-close", SC_POLICY_ACCEPT_CLOSE},
        {"accept-reset", SC_POLICY_ACCEPT_RESET},
        {"hold", SC_POLICY_HOLD},
        {NULL, 0},
};

const struct name_val ld_mt_protocol_names[] = {
        {"reliable", 0x0001}, /* TRANSPORTTYPE_UDPFECR */
        {"lossy", 0x0004},    /* TRANSPORTTYPE_UDPFECL */
        {NULL, 0},
};

const struct name_val ld_udp_mode_names[] = {
        {"drop", SC_UDP_DROP},
        {"unreachable", SC_UDP_UNREACHABLE},
        {"answer-garbage", SC_UDP_ANSWER_GARBAGE},
        {NULL, 0},
};

const struct name_val ld_fallback_names[] = {
        {"proceed", SC_FALLBACK_PROCEED},
        {"stall", SC_FALLBACK_STALL},
        {"reset", SC_FALLBACK_RESET},
        {"deny", SC_FALLBACK_DENY},
        {NULL, 0},
};

/* The names of the flags set in mask, comma-separated, in table order. */
static const char *flags_str(const struct name_val *names, unsigned mask, char *buf, size_t n)
{
	if (!buf || !n)
		return buf;
	buf[0] = '\0';
	size_t used = 0;
	for (const struct name_val *p = names; p->name; p++) {
		if (!(mask & (unsigned)p->val))
			continue;
		int r = snprintf(buf + used, n - used, "%s%s", used ? "," : "", p->name);
		if (r < 0 || (size_t)r >= n - used) {
			buf[used] = '\0'; /* too small: keep whole names only */
			break;
		}
		used += (size_t)r;
	}
	return buf;
}

static const char *name_of(const struct name_val *names, long v)
{
	for (const struct name_val *p = names; p->name; p++)
		if (p->val == v)
			return p->name;
	return "unknown";
}

const char *sc_protocols_str(unsigned mask, char *buf, size_t n)
{
	return flags_str(ld_protocol_names, mask, buf, n);
}

const char *sc_mt_protocols_str(unsigned mask, char *buf, size_t n)
{
	return flags_str(ld_mt_protocol_names, mask, buf, n);
}

const char *sc_udp_mode_str(int mode)
{
	return name_of(ld_udp_mode_names, mode);
}

const char *sc_fallback_str(int fallback)
{
	return name_of(ld_fallback_names, fallback);
}

const char *sc_encryption_level_str(enum sc_encryption_level l)
{
	return name_of(ld_enclevel_names, (long)l);
}

const char *sc_policy_str(int policy)
{
	return name_of(ld_policy_names, policy);
}
