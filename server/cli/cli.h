/* cli.h — the command line: subcommands serve, list, show; their options;
 * help texts; exit codes. Parsing only: running is main.c's job. */
#ifndef RDPFAULT_CLI_H
#define RDPFAULT_CLI_H

#include "frontdoor/options.h"

/* Exit codes (documented in README.md and `rdpfault --help`). */
enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,    /* could not listen, write, generate keys... */
	EXIT_USAGE = 2,      /* unknown command or option, bad value */
	EXIT_CATALOG = 3,    /* the scenario catalog is invalid */
	EXIT_NO_SCENARIO = 4 /* show NAME: no such scenario */
};

enum command { CMD_NONE, CMD_SERVE, CMD_LIST, CMD_SHOW, CMD_CERT_EXPORT, CMD_MATRIX };

struct cli {
	enum command cmd;
	struct harness_options serve;
	int json;    /* list/show: JSON output */
	int verbose; /* -v count */
	int quiet;
	const char *name; /* show NAME */
	int show_model;
	int matrix_argc;    /* matrix: its arguments, passed to the runner as they are */
	char **matrix_argv; /* show --phases (1) or --actions (2) instead of NAME */
	int port_base;      /* list: show ports from this base, -1 none */
};

/* Parses argv into `out`. Returns -1 to go on, or an exit code to exit
 * with at once (help printed, or a usage error already reported). */
int cli_parse(int argc, char **argv, struct cli *out);
void cli_free(struct cli *c);
/* The default scenario directory for this executable. */
const char *cli_default_scenarios_dir(void);

#endif
