/* main.c — rdpfault's entry point: the table of subcommands, the top-level
 * help and version, then one command's parse and run. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* In the order `rdpfault --help` lists them. */
static const struct command *const commands[] = {
        &cmd_serve, &cmd_list,   &cmd_show,     &cmd_find, &cmd_rdp_file,
        &cmd_cert,  &cmd_matrix, &cmd_timeline, &cmd_ctl,
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char usage_tail[] =
        "\n"
        "  -h, --help     this text; 'rdpfault COMMAND --help' for a command's options\n"
        "  -V, --version  print the version\n"
        "\n"
        "From a customer's error code to a running scenario:\n"
        "  rdpfault find 0x904 0x7          which scenarios end that way\n"
        "  rdpfault serve                   serve them all on 127.0.0.1\n"
        "  rdpfault rdp-file NAME           an .rdp file that reaches NAME's own port (mstsc)\n"
        "  rdpfault timeline EVENTS.jsonl   what happened, on one time axis\n"
        "\n"
        "Exit codes (every command):\n"
        "  0  success\n"
        "  1  runtime failure (cannot listen, write a file, generate a key, run a client)\n"
        "  2  usage error (unknown command or option, bad value, a --set that does not apply)\n"
        "  3  the scenario catalog is invalid (each problem printed as FILE:LINE: FIELD: ...)\n"
        "  4  no such scenario (show, rdp-file), none matches (list GLOB, find)\n"
        "  5  matrix: some cell did not match its expectation\n";

static void usage(FILE *out)
{
	fputs("Usage: rdpfault COMMAND [OPTIONS]\n"
	      "An RDP server that reproduces named failure scenarios on the wire.\n"
	      "\n"
	      "Commands:\n",
	      out);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fputs(usage_tail, out);
}

static void set_defaults(struct cli *c)
{
	memset(c, 0, sizeof(*c));
	c->serve.port_base = -1;
	c->serve.port_base_host = "127.0.0.1";
	c->serve.default_scenario = DEFAULT_SCENARIO;
	c->serve.time_scale = 1;
	c->port_base = -1;
}

int main(int argc, char **argv)
{
	struct cli c;
	set_defaults(&c);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
		printf("rdpfault %s\n", RDPFAULT_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < N_COMMANDS && !c.cmd; i++)
		if (!strcmp(name, commands[i]->name))
			c.cmd = commands[i];
	if (!c.cmd) {
		char known[256];
		size_t used = 0;
		for (size_t i = 0; i < N_COMMANDS && used < sizeof(known); i++)
			used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
			                         i ? ", " : "", commands[i]->name);
		return usage_error(NULL, "unknown command '%s' (commands: %s)", name, known);
	}
	c.cmd_name = c.cmd->name;
	/* argv[1] is the command: getopt sees it as its argv[0]. Our
	 * messages, not getopt's. */
	optind = 1;
	opterr = 0;
	int rc = c.cmd->parse(argc - 1, argv + 1, &c);
	if (rc < 0) {
		if (!c.serve.scenarios_dir)
			c.serve.scenarios_dir = cli_default_scenarios_dir();
		rc = c.cmd->run(&c);
	}
	cli_free(&c);
	return rc;
}
