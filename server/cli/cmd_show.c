/* cmd_show.c — `rdpfault show NAME`: one scenario, what it reproduces and
 * what each client shows; `show --phases` and `--actions`: the model the
 * scenario files are written in. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "catalog/render.h"

static const char usage[] =
        "Usage: rdpfault show NAME [OPTIONS]\n"
        "       rdpfault show --phases | --actions | --network [--json]\n"
        "Describe a scenario (NAME: its name or alias): what it reproduces, the field report\n"
        "it stands for, what the server does, and what each client is expected to show.\n"
        "--phases lists the phases of the connection sequence a fault can strike at (and\n"
        "where a cut strikes in each), --actions the faults' actions with their phases and\n"
        "parameters, --network the network conditions' types with their attributes.\n"
        "\n"
        "      --phases            the phase model, in connection order\n"
        "      --actions           the fault actions\n"
        "      --network           the network conditions (scenario files' network:, serve\n"
        "                          --network)\n"
        "  -s, --scenario-dir DIR  the scenario directory\n"
        "      --set NAME.PATH=VALUE  change a scenario's field first (as serve --set)\n"
        "      --json              JSON output\n"
        "  -h, --help              this text\n";

enum { OPT_PHASES = OPT_FIRST_OWN, OPT_ACTIONS, OPT_NETWORK };

static int parse(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
	        CLI_COMMON_OPTIONS,
	        {"json", no_argument, NULL, OPT_JSON},
	        {"phases", no_argument, NULL, OPT_PHASES},
	        {"actions", no_argument, NULL, OPT_ACTIONS},
	        {"network", no_argument, NULL, OPT_NETWORK},
	        {NULL, 0, NULL, 0},
	};
	int ch, rc;
	/* NAME before or after the options (permuted). */
	while ((ch = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
		if ((rc = cli_common_option(c, ch, optarg, usage)) != -2) {
			if (rc >= 0)
				return rc;
			continue;
		}
		switch (ch) {
		case OPT_JSON:
			c->json = 1;
			break;
		case OPT_PHASES:
		case OPT_ACTIONS:
		case OPT_NETWORK:
			c->show_model = ch == OPT_PHASES    ? RENDER_PHASES
			                : ch == OPT_ACTIONS ? RENDER_ACTIONS
			                                    : RENDER_NETWORK;
			break;
		default:
			return cli_bad_option(c, argv);
		}
	}
	if (c->show_model) {
		if (optind < argc)
			return usage_error(c,
			                   "--phases, --actions and --network take no NAME ('%s')",
			                   argv[optind]);
		return -1;
	}
	if (optind >= argc)
		return usage_error(c, "which scenario? ('rdpfault list' names them)");
	c->name = argv[optind++];
	if (optind < argc)
		return usage_error(c, "unexpected argument '%s'", argv[optind]);
	return -1;
}

/* A scenario by name or alias (case-insensitive). */
const struct scenario *cli_find_scenario(const struct catalog *cat, const char *name)
{
	const struct scenario *s = catalog_find(cat, name);
	for (size_t i = 0; !s && i < cat->n; i++)
		if (cat->items[i]->alias && strcasecmp(cat->items[i]->alias, name) == 0)
			s = cat->items[i];
	return s;
}

static int run(struct cli *c)
{
	if (c->show_model) {
		render_model(c->show_model, c->json, stdout);
		return EXIT_OK;
	}
	struct catalog cat;
	int rc = cli_load_catalog(c, &cat);
	if (rc)
		return rc;
	const struct scenario *s = cli_find_scenario(&cat, c->name);
	if (!s) {
		cli_say(c, "no scenario named '%s' (see 'rdpfault list')", c->name);
		catalog_free(&cat);
		return EXIT_NO_SCENARIO;
	}
	if (c->json) {
		json_t *o = render_scenario_json(s);
		json_dumpf(o, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(o);
	} else {
		render_scenario_text(s, stdout);
	}
	catalog_free(&cat);
	return EXIT_OK;
}

const struct command cmd_show = {
        .name = "show",
        .summary = "describe one scenario and what each client is expected to show",
        .parse = parse,
        .run = run,
};
