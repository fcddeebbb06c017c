/* cmd_list.c — `rdpfault list [GLOB...]`: the scenarios, picked by name,
 * alias or template (shell patterns) and tags, as a table or JSON. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "catalog/render.h"

static const char usage[] =
        "Usage: rdpfault list [GLOB...] [OPTIONS]\n"
        "List the scenarios: name, alias (what mstsc users type), port offset (or port with\n"
        "--port-base) and summary. GLOB (a shell pattern on the name, the alias or the\n"
        "template: 'denied-*', 'reset-at-*') and --tag pick which.\n"
        "\n"
        "      --select GLOB[,GLOB...]  the same as GLOB arguments\n"
        "      --tag TAG           only scenarios tagged TAG (repeatable: every one)\n"
        "  -p, --port-base PORT    show each scenario's port as 'serve --port-base PORT' gives it\n"
        "  -s, --scenario-dir DIR  the scenario directory\n"
        "      --set NAME.PATH=VALUE  change a scenario's field first (as serve --set)\n"
        "      --json              JSON: each scenario's alias, tags, field report and the codes\n"
        "                          its expectations name\n"
        "  -h, --help              this text\n";

static int parse(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
	        CLI_COMMON_OPTIONS,
	        {"select", required_argument, NULL, OPT_SELECT},
	        {"tag", required_argument, NULL, OPT_TAG},
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
		case OPT_SELECT:
			if ((rc = cli_add_glob(c, optarg)) >= 0)
				return rc;
			break;
		case OPT_TAG:
			if ((rc = cli_add_tag(c, optarg)) >= 0)
				return rc;
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
	for (; optind < argc; optind++)
		if ((rc = cli_add_glob(c, argv[optind])) >= 0)
			return rc;
	return -1;
}

static int run(struct cli *c)
{
	struct catalog cat;
	int rc = cli_load_catalog(c, &cat);
	if (rc)
		return rc;
	int max_offset = 0;
	for (size_t i = 0; i < cat.n; i++)
		if (cat.items[i]->port_offset > max_offset)
			max_offset = cat.items[i]->port_offset;
	if ((rc = cli_check_port_base(c, c->port_base, max_offset)) >= 0) {
		catalog_free(&cat);
		return rc;
	}
	rc = EXIT_OK;
	const struct scenario **picked = calloc(cat.n ? cat.n : 1, sizeof(*picked));
	size_t n = 0;
	if (!picked) {
		catalog_free(&cat);
		return EXIT_RUNTIME;
	}
	for (size_t i = 0; i < cat.n; i++)
		if (cli_selected(c, cat.items[i]))
			picked[n++] = cat.items[i];
	if (n == 0 && (c->n_select || c->n_tags)) {
		cli_say(c, "no scenario matches (see 'rdpfault list')");
		rc = EXIT_NO_SCENARIO;
	} else {
		render_list(picked, n, c->port_base, c->json, stdout);
	}
	free(picked);
	catalog_free(&cat);
	return rc;
}

const struct command cmd_list = {
        .name = "list",
        .summary = "list the scenarios (GLOB, --tag to pick)",
        .parse = parse,
        .run = run,
};
