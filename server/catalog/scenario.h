/* scenario.h — the scenario catalog: loading, validating and looking up
 * scenario files (scenarios/NAME.yaml, one scenario a file).
 *
 * A scenario is data: what the server accepts (security layers, TLS
 * versions, certificate), the account NLA checks, the faults it applies,
 * and what each client is expected to show. The format is documented in
 * docs/scenario-format.md; this module is its only reader.
 *
 * Loading is strict: an unknown key, a value of the wrong type or range, a
 * missing required field, a duplicate name or port offset is an error that
 * names the file, the line and the field. A catalog with any error is
 * refused whole, so `serve` never starts on a half-valid catalog. */
#ifndef RDPFAULT_SCENARIO_H
#define RDPFAULT_SCENARIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Security layers a scenario's server accepts (bit mask). */
enum {
	SC_PROTO_RDP = 1u << 0, /* RDP Standard Security */
	SC_PROTO_TLS = 1u << 1, /* PROTOCOL_SSL */
	SC_PROTO_NLA = 1u << 2  /* PROTOCOL_HYBRID (CredSSP) */
};

/* RDP Standard Security encryption levels (MS-RDPBCGR 2.2.1.4.3). */
enum sc_encryption_level {
	SC_ENC_NONE = 0,
	SC_ENC_LOW = 1,
	SC_ENC_CLIENT_COMPATIBLE = 2,
	SC_ENC_HIGH = 3,
	SC_ENC_FIPS = 4
};

/* How the served certificate is made. Validity offsets are seconds
 * relative to the moment the harness starts. */
struct sc_cert {
	char *subject_cn;       /* default "localhost" */
	char **san_dns;         /* NULL-terminated; default {"localhost", NULL} */
	char **san_ip;          /* NULL-terminated; default {"127.0.0.1", "::1", NULL} */
	int key_bits;           /* RSA modulus bits; default 2048 */
	char *digest;           /* "sha256" (default), "sha1", "sha384", "sha512" */
	long not_before_offset; /* default -86400 (one day ago) */
	long not_after_offset;  /* default 365 days ahead */
	int key_mismatch;       /* key: mismatched — serve a private key that is not the
	                           certificate's (the server cannot complete TLS) */
};

/* The account NLA (NTLM) accepts. */
struct sc_account {
	char *user;   /* NULL when the scenario names no account */
	char *domain; /* may be "" */
	char *password;
};

/* Admission control in the front door (the MaxOutstandingConnections
 * model): past max_outstanding connections accepted but not yet active,
 * new ones are refused by the policy. */
enum sc_policy {
	SC_POLICY_SYN_DROP = 0, /* stop accepting: the kernel queue fills, SYNs go unanswered */
	SC_POLICY_ACCEPT_CLOSE, /* accept, FIN at once */
	SC_POLICY_ACCEPT_RESET, /* accept, RST at once */
	SC_POLICY_HOLD,         /* accept, never answer until the pre-logon deadline */
};
struct sc_admission {
	int max_outstanding;      /* -1: no limit */
	int policy;               /* enum sc_policy; default accept-close */
	int prefill;              /* phantom outstanding slots from the start */
	int backlog;              /* listen backlog of the scenario's own port; -1: --backlog */
	int prelogon_timeout_ms;  /* not active this long: closed, the slot freed; -1: the
	                             harness's --handshake-timeout */
	int max_sessions;         /* past this many active sessions: deny (session limit); -1 */
	char *session_limit_code; /* the Set Error Info code for that, a number; NULL: 0x7 */
};

/* multitransport: the server offers UDP to a client that advertises it
 * (MS-RDPBCGR 2.2.15), and the UDP side on the same port number answers as
 * `udp` says; after the attempt the TCP connection goes on as `fallback`
 * says. */
enum sc_udp_mode {
	SC_UDP_DROP = 0,       /* a bound socket that logs every datagram and answers none */
	SC_UDP_UNREACHABLE,    /* no socket: the kernel answers ICMP port unreachable */
	SC_UDP_ANSWER_GARBAGE, /* a socket that answers each datagram with bytes no client parses */
};
enum sc_fallback {
	SC_FALLBACK_PROCEED = 0, /* Demand Active: the healthy fallback to TCP */
	SC_FALLBACK_STALL,       /* never goes on: waits until the pre-logon deadline */
	SC_FALLBACK_RESET,       /* RST */
	SC_FALLBACK_DENY,        /* Set Error Info (deny_code), then the close */
};
struct sc_multitransport {
	int on;                  /* the section is present */
	unsigned protocols;      /* MT_TRANSPORTTYPE_UDPFECR (1) / _UDPFECL (4): a request each */
	int udp;                 /* enum sc_udp_mode */
	int response_timeout_ms; /* how long the server waits for the client's responses */
	int fallback;            /* enum sc_fallback */
	int fallback_after_ms;   /* between the end of the UDP attempt and the fallback */
	char *deny_code;         /* fallback deny: the Set Error Info code; NULL: 0x7 */
};

/* What one client is expected to show against this scenario. Every
 * field but `client` is optional; unset ints are -1, unset strings NULL. */
struct sc_expect {
	char *client;   /* "mstsc", "xfreerdp", "rdesktop", "nmap", "impacket", or a user's name */
	char *result;   /* "connected", "failed" or "retries-forever" (reconnects
	                   without bound: a runner must stop it) */
	int exit_code;  /* process exit code, -1 when unset */
	char *log;      /* a line (substring) the client prints */
	char *code;     /* mstsc: disconnect code, e.g. "0x904" */
	char *extended; /* mstsc: extended code, e.g. "0x7" */
	char *message;  /* mstsc: the dialog text */
	char *note;     /* free text */
	char *args;     /* extra command-line arguments the client is run with */
	struct sc_param *exit_by_phase; /* a template's: PHASE -> exit, which each
	                                   expansion takes as its `exit` */
	size_t n_exit_by_phase;
	struct sc_param *result_by_phase; /* ... PHASE -> result, and PHASE -> log */
	size_t n_result_by_phase;
	struct sc_param *log_by_phase;
	size_t n_log_by_phase;
};

/* One fault to apply: a primitive, the phase it strikes, its parameters.
 * The loader keeps parameters as text; the primitive validates them. */
struct sc_param {
	char *key;
	char *value;
	int line;
};
struct sc_fault {
	char *action; /* e.g. "reset", "close", "stall", "deny" */
	char *at;     /* phase name (server/phase.h), or NULL */
	struct sc_param *params;
	size_t n_params;
	int line; /* where it was declared, for later errors */
};

/* One network condition (docs/scenario-format.md, `network:`): the same
 * object the control API takes. Kept as text; catalog/netplan.c checks
 * and compiles it against its type's attributes (faults/toxics/). */
struct sc_condition {
	char *name;       /* default: the type */
	char *type;       /* latency, bandwidth, ... */
	char *stream;     /* "upstream", "downstream" (default) or "both" */
	char *toxicity;   /* 0-1 as text, default "1" */
	char *from_phase; /* trigger.from_phase, or NULL */
	int after_bytes;  /* trigger.after_bytes, -1 when unset */
	struct sc_param *attrs;
	size_t n_attrs;
	int line;
};

/* One step of a schedule scenario (docs/scenario-format.md, `schedule:`):
 * a client address's next `count` connections get that scenario. */
struct sc_sched_item {
	char *scenario;
	int count; /* -1: unset (the last step's: for good) */
	int line;
};

#define SC_ALIAS_MAX 9 /* mstsc sends the user name cut to 9 characters as its cookie */

struct scenario {
	char *name;          /* unique; [a-z0-9-]{1,48}, equal to the file's base name */
	char *alias;         /* unique; at most 9 characters (mstsc's cookie), or NULL; a
	                        template's is its instances' prefix (ALIAS-PHASECODE) */
	char *file;          /* path it was loaded from */
	int port_offset;     /* unique; 0..999: port = --port-base + offset */
	char *summary;       /* one line */
	char *reproduces;    /* what real-world condition it stands for (paragraph) */
	char *field_report;  /* the report it answers, e.g. "mstsc 0x904 / 0x7 after ..." */
	char **tags;         /* NULL-terminated, may be empty */
	char **each_phase;   /* NULL-terminated; when not empty, a template: one scenario per
	                        phase named here (NAME-PHASE,
	                        port_offset + index, faults' `at: each` set to the phase);
	                        NULL for an ordinary scenario. The catalog holds only the
	                        expansions. Empty (never NULL) otherwise. */
	char *template_name; /* the template an expansion came from, else NULL */

	unsigned protocols; /* SC_PROTO_* mask the server accepts; non-zero */
	enum sc_encryption_level encryption_level; /* default CLIENT_COMPATIBLE */
	uint16_t tls_min;  /* 0x0301..0x0304; default 0x0303 (1.0/1.1 also need tls_sec_level 0) */
	uint16_t tls_max;  /* default 0x0304; >= tls_min */
	int tls_sec_level; /* OpenSSL security level 0..5; default 1 */
	char *tls_ciphers; /* OpenSSL cipher list for TLS <= 1.2, or NULL */

	struct sc_cert cert;
	struct sc_account account;
	struct sc_admission admission;
	struct sc_multitransport multitransport;

	struct sc_fault *faults;
	size_t n_faults;

	struct sc_condition *network;
	size_t n_network;

	/* A schedule scenario: its connections get these scenarios in turn,
	 * per client address (retry testing); it serves nothing of its own. */
	struct sc_sched_item *schedule;
	size_t n_schedule;

	struct sc_expect *expect;
	size_t n_expect;

	char **set_texts; /* the --set arguments it was loaded with, by index (NULL: the
	                     catalog's own, a template's instance), for sc_where */
	size_t n_set_texts;
};

struct catalog {
	struct scenario **items; /* sorted by name */
	size_t n;
	/* Of a failed load's problems, those a --set made (its value, its path,
	 * its scenario): a usage error rather than a bad catalog. */
	int set_problems;
};

/* A change to one scenario before it is checked: `--set NAME.PATH=VALUE`.
 * PATH is the field's path as errors print it (security.tls_min,
 * faults[0].params.code); missing mappings and keys are added; VALUE is
 * read as a plain YAML scalar. The result is checked like any file. */
struct sc_override {
	const char *scenario;
	const char *path;
	const char *value; /* YAML: a scalar, or flow syntax ([tls, rdp], {a: 1}) */
	int used;          /* set when the scenario was found */
	const char *text;  /* the --set argument as given; NULL for the catalog's own
	                      (a template's instances): its problems then name the file */
};

/* Parses "NAME.PATH=VALUE" (pointers into a copy the caller frees with
 * free(o->scenario); text points at `text`). 0, or -1 when malformed. */
int sc_override_parse(const char *text, struct sc_override *o);

/* catalog_load_dir with overrides applied; an override naming no scenario
 * of the catalog is a problem too. */
int catalog_load_dir_with(const char *dir, struct sc_override *ov, size_t n_ov, struct catalog *out,
                          FILE *err);

/* Loads every *.yaml file of `dir`. On success returns 0. On any error
 * writes one line per problem to `err` ("FILE:LINE: FIELD: what is wrong")
 * and returns the number of problems (> 0); `out` is then left empty. */
int catalog_load_dir(const char *dir, struct catalog *out, FILE *err);

/* Loads one file into `*out` (allocated). Returns the number of problems,
 * each written to `err` as above; 0 on success. */
int scenario_load_file(const char *path, struct scenario **out, FILE *err);

const struct scenario *catalog_find(const struct catalog *c, const char *name);
const struct sc_expect *scenario_expect_for(const struct scenario *s, const char *client);
/* Where a later check's problem at `line` of s is: "FILE:LINE" or, for
 * a node a --set made, "--set ARG" (returns 1 then; 0 otherwise). */
int sc_where(const struct scenario *s, int line, char *buf, size_t n);

/* Value of a fault parameter, or NULL. */
const char *sc_fault_param(const struct sc_fault *f, const char *key);

void scenario_free(struct scenario *s);
void catalog_free(struct catalog *c);
/* Frees a NULL-terminated array of strings and the strings (NULL: nothing). */
void sc_strv_free(char **v);

/* "rdp", "tls", "nla" joined by ",". Writes at most n bytes. */
const char *sc_protocols_str(unsigned mask, char *buf, size_t n);
const char *sc_encryption_level_str(enum sc_encryption_level l);
/* multitransport: "reliable,lossy" for a protocols mask (into buf);
 * "drop", "unreachable", "answer-garbage"; "proceed", "stall", "reset",
 * "deny" ("unknown" for other values). */
const char *sc_mt_protocols_str(unsigned mask, char *buf, size_t n);
const char *sc_udp_mode_str(int mode);
const char *sc_fallback_str(int fallback);
const char *sc_policy_str(int policy); /* admission.policy */

#endif
