/* cli.h — the command line: one table of subcommands (commands.c), each a
 * file of its own (cmd_*.c) that parses its options and runs; the options
 * and helpers they share (args.c); one exit-code table.
 *
 * One meaning per flag across subcommands: --scenario-dir DIR is the
 * catalog, --select GLOB picks scenarios, --tag TAG filters them, --set
 * changes a field, --json prints JSON, --port-base PORT is the first
 * per-scenario port. Every message starts "rdpfault COMMAND: ". */
#ifndef RDPFAULT_CLI_H
#define RDPFAULT_CLI_H

#include <stddef.h>

#include "catalog/scenario.h"
#include "frontdoor/options.h"

/* Exit codes (README.md and `rdpfault --help`), the same for every command. */
enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1, /* could not listen, write, generate keys, run a client... */
	EXIT_USAGE = 2,   /* unknown command or option, bad value, a --set that does not apply */
	EXIT_CATALOG = 3, /* the scenario catalog is invalid */
	EXIT_NO_SCENARIO = 4, /* show, rdp-file NAME: no such scenario; find: none matches */
	EXIT_MISMATCH = 5     /* matrix: a cell did not match its expectation */
};

#define DEFAULT_PORT 3389
/* Below Linux's ephemeral range (32768-60999), where another program's
 * client socket could hold a scenario's port. */
#define DEFAULT_PORT_BASE 13390
#define DEFAULT_SCENARIO "healthy-tls"

struct command;

struct cli {
	const struct command *cmd;
	const char *cmd_name;         /* as typed ("cert export"), for messages */
	struct harness_options serve; /* serve's options; every command's catalog and --set */
	int json;                     /* --json: JSON on stdout */
	int verbose, quiet;
	const char *name;    /* show NAME, rdp-file NAME */
	int all;             /* rdp-file --all */
	int show_model;      /* show --phases (RENDER_PHASES) or --actions */
	int port_base;       /* list, rdp-file: ports from this base; -1: none */
	const char *host;    /* rdp-file: the address clients dial */
	int port;            /* rdp-file: one listener's port instead of a base; 0: none */
	const char *out_dir; /* rdp-file --out */
	const char **select; /* --select GLOB (and list's GLOB arguments) */
	size_t n_select;
	const char **tags; /* --tag TAG: scenarios with every one of them */
	size_t n_tags;
	const char *code, *extended; /* find CODE [EXTENDED] */
	const char *client;          /* find --client */
	int argc;                    /* matrix, timeline: arguments for the runner */
	char **argv;
	struct listen_spec api; /* serve --api: host NULL when off */
	int api_given;          /* --api was given: a busy port is an error, not a warning */
	int api_exposed;        /* --api is not a loopback address: a token is required */
	char *api_token;        /* --api-token, --api-token-file, $RDPFAULT_API_TOKEN */
};

#define DEFAULT_API_PORT 8390

struct command {
	const char *name;
	const char *summary; /* one line of `rdpfault --help` */
	/* Parses argv (argv[0] is the command): -1 to go on and run, else an
	 * exit code to exit with at once (help printed, usage error said). */
	int (*parse)(int argc, char **argv, struct cli *c);
	int (*run)(struct cli *c);
};

extern const struct command cmd_serve, cmd_list, cmd_show, cmd_find, cmd_rdp_file, cmd_cert,
        cmd_matrix, cmd_timeline, cmd_ctl;

/* ---- args.c: what the commands share */

/* "rdpfault CMD: message" and "rdpfault CMD: try 'rdpfault CMD --help'" on
 * stderr; returns EXIT_USAGE. */
int usage_error(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "rdpfault CMD: message" on stderr. */
void cli_say(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int parse_long(const char *s, long lo, long hi, long *out);
/* A port 1-65535 for option `flag` into *out: -1 (go on), or the usage
 * error's exit code. */
int cli_parse_port(const struct cli *c, const char *flag, const char *arg, int *out);
/* A numeric IPv4 or IPv6 address (names are not looked up). */
int numeric_address(const char *host);
/* ADDR:PORT[=SCENARIO], [V6]:PORT[=SCENARIO] or PORT[=SCENARIO]; PORT 0-65535. */
int parse_listen(const char *arg, struct listen_spec *ls);

/* The options every catalog command takes; long-only ones past 255. */
enum {
	OPT_SCENARIO_DIR = 's',
	OPT_PORT_BASE = 'p',
	OPT_HELP = 'h',
	OPT_SET = 256,
	OPT_JSON,
	OPT_SELECT,
	OPT_TAG,
	OPT_OLD_SCENARIOS, /* --scenarios: renamed, said so */
	OPT_FIRST_OWN,     /* a command's own long-only options from here */
};
#define CLI_COMMON_OPTIONS                                                                         \
	{"scenario-dir", required_argument, NULL, OPT_SCENARIO_DIR},                               \
	        {"set", required_argument, NULL, OPT_SET},                                         \
	        {"scenarios", required_argument, NULL, OPT_OLD_SCENARIOS},                         \
	{                                                                                          \
		"help", no_argument, NULL, OPT_HELP                                                \
	}
/* Handles a common option: -1 when it did (go on), an exit code to exit
 * with, or -2 when `opt` is not a common one. */
int cli_common_option(struct cli *c, int opt, const char *arg, const char *usage);
/* getopt's '?' and ':' as our message. */
int cli_bad_option(struct cli *c, char **argv);
/* --port-base PORT for a catalog whose offsets reach max_offset. */
int cli_check_port_base(const struct cli *c, int base, int max_offset);
int cli_add_glob(struct cli *c, const char *glob);
int cli_add_tag(struct cli *c, const char *tag);

/* Loads the catalog (--scenario-dir, --set), every fault checked. Returns
 * EXIT_OK, or the exit code after the problems were printed: EXIT_USAGE
 * when --set values made them all, EXIT_CATALOG otherwise. */
int cli_load_catalog(const struct cli *c, struct catalog *cat);
/* A scenario by name or alias (case-insensitive), or NULL. */
const struct scenario *cli_find_scenario(const struct catalog *cat, const char *name);
/* Whether a scenario is selected by --select/GLOB and --tag. */
int cli_selected(const struct cli *c, const struct scenario *s);
/* The default scenario directory for this executable. */
const char *cli_default_scenarios_dir(void);
/* Replaces this process with python3 RUNNER ARGS (matrix, timeline). */
int cli_exec_runner(const struct cli *c, const char *runner_name, const char *source_path);

/* The exit code for harness_prepare/harness_listen's rc (-2 catalog, -3
 * usage, else runtime); set_only: the catalog's problems were all --set's. */
int cli_harness_exit(int rc, int set_only);

void cli_free(struct cli *c);

#endif
