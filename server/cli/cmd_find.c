/* cmd_find.c — `rdpfault find CODE [EXTENDED]`: "my customer's client shows
 * 0x904, extended 0x7: which scenarios?", ranked, with what tells them
 * apart. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "catalog/find.h"
#include "catalog/render.h"

#define FIND_SHOWN 200

static const char usage[] =
        "Usage: rdpfault find CODE [EXTENDED] [OPTIONS]\n"
        "Which scenarios reproduce what a client shows: mstsc's disconnect code and extended\n"
        "code (\"Error code: 0x904, Extended error code: 0x7\"), as numbers (0x904, 2308) or\n"
        "ERRINFO names. Scenarios whose expectations name both come first, then the related\n"
        "ones (the same code with another extended code, a server sending that code).\n"
        "\n"
        "      --client NAME       only that client's expectations (mstsc, xfreerdp, ...)\n"
        "  -p, --port-base PORT    show each scenario's port as 'serve --port-base PORT' gives it\n"
        "  -s, --scenario-dir DIR  the scenario directory\n"
        "      --set NAME.PATH=VALUE  change a scenario's field first (as serve --set)\n"
        "      --json              JSON output\n"
        "  -h, --help              this text\n"
        "\n"
        "Exit code 4 when no scenario matches.\n";

enum { OPT_CLIENT = OPT_FIRST_OWN };

static int parse(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
	        CLI_COMMON_OPTIONS,
	        {"client", required_argument, NULL, OPT_CLIENT},
	        {"port-base", required_argument, NULL, OPT_PORT_BASE},
	        {"json", no_argument, NULL, OPT_JSON},
	        {NULL, 0, NULL, 0},
	};
	int ch, rc;
	while ((ch = getopt_long(argc, argv, ":s:p:h", opts, NULL)) != -1) {
		if ((rc = cli_common_option(c, ch, optarg, usage)) != -2) {
			if (rc >= 0)
				return rc;
			continue;
		}
		switch (ch) {
		case OPT_CLIENT:
			c->client = optarg;
			break;
		case OPT_PORT_BASE:
			if ((rc = cli_parse_port(c, "--port-base", optarg, &c->port_base)) >= 0)
				return rc;
			break;
		case OPT_JSON:
			c->json = 1;
			break;
		default:
			return cli_bad_option(c, argv);
		}
	}
	if (optind >= argc)
		return usage_error(c, "which code? e.g. 'rdpfault find 0x904 0x7'");
	c->code = argv[optind++];
	if (optind < argc)
		c->extended = argv[optind++];
	if (optind < argc)
		return usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (!find_code_ok(c->code))
		return usage_error(c,
		                   "'%s' is not a code: a number (0x904, 2308) or an ERRINFO name",
		                   c->code);
	if (c->extended && !find_code_ok(c->extended))
		return usage_error(
		        c,
		        "'%s' is not an extended code: a number (0x7) or an ERRINFO name "
		        "(ERRINFO_SERVER_DENIED_CONNECTION)",
		        c->extended);
	return -1;
}

static int run(struct cli *c)
{
	struct catalog cat;
	int rc = cli_load_catalog(c, &cat);
	if (rc)
		return rc;
	struct find_hit *hits = calloc(cat.n ? cat.n : 1, sizeof(*hits));
	if (!hits) {
		catalog_free(&cat);
		return EXIT_RUNTIME;
	}
	size_t total = find_by_code(&cat, c->code, c->extended, c->client, hits, cat.n);
	if (total == 0) {
		cli_say(c, "no scenario expects %s%s%s%s%s", c->code, c->extended ? " / " : "",
		        c->extended ? c->extended : "", c->client ? " from " : "",
		        c->client ? c->client : "");
		rc = EXIT_NO_SCENARIO;
		if (c->json)
			render_find(hits, 0, 0, c->code, c->extended, c->port_base, 1, stdout);
	} else {
		size_t shown = c->json || total < FIND_SHOWN ? total : FIND_SHOWN;
		render_find(hits, shown, total, c->code, c->extended, c->port_base, c->json,
		            stdout);
	}
	free(hits);
	catalog_free(&cat);
	return rc;
}

const struct command cmd_find = {
        .name = "find",
        .summary = "which scenarios reproduce a client's error code (find 0x904 0x7)",
        .parse = parse,
        .run = run,
};
