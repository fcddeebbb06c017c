/* cmd_rdpfile.c — `rdpfault rdp-file NAME`: the .rdp file that takes mstsc
 * to a scenario (by its own port: mstsc's cookie is 9 characters or none). */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/rdpfile.h"

static const char usage[] =
        "Usage: rdpfault rdp-file NAME [OPTIONS]\n"
        "       rdpfault rdp-file --all --out DIR [OPTIONS]\n"
        "Print the .rdp file that connects Remote Desktop Connection (mstsc) to a scenario:\n"
        "by the scenario's own port, as 'serve --port-base' gives it, since mstsc sends only\n"
        "9 characters of the user name as its cookie (or none with saved credentials). With\n"
        "--all, write NAME.rdp for every scenario into DIR.\n"
        "\n"
        "      --host ADDR         the address mstsc dials (default 127.0.0.1)\n"
        "  -p, --port-base PORT    the harness's --port-base (default 13390)\n"
        "      --port PORT         a listener of its own instead (serve --listen ADDR:PORT=NAME)\n"
        "      --all               every scenario (with --out)\n"
        "  -o, --out DIR           write the files into DIR (created)\n"
        "  -s, --scenario-dir DIR  the scenario directory\n"
        "      --set NAME.PATH=VALUE  change a scenario's field first (as serve --set)\n"
        "  -h, --help              this text\n";

enum { OPT_HOST = OPT_FIRST_OWN, OPT_PORT, OPT_ALL };

static int parse(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
	        CLI_COMMON_OPTIONS,
	        {"host", required_argument, NULL, OPT_HOST},
	        {"port-base", required_argument, NULL, OPT_PORT_BASE},
	        {"port", required_argument, NULL, OPT_PORT},
	        {"all", no_argument, NULL, OPT_ALL},
	        {"out", required_argument, NULL, 'o'},
	        {NULL, 0, NULL, 0},
	};
	int ch, rc;
	c->port_base = DEFAULT_PORT_BASE;
	c->host = "127.0.0.1";
	while ((ch = getopt_long(argc, argv, ":s:p:o:h", opts, NULL)) != -1) {
		if ((rc = cli_common_option(c, ch, optarg, usage)) != -2) {
			if (rc >= 0)
				return rc;
			continue;
		}
		switch (ch) {
		case OPT_HOST:
			if (!numeric_address(optarg))
				return usage_error(
				        c, "--host '%s': expected a numeric IPv4 or IPv6 address",
				        optarg);
			c->host = optarg;
			break;
		case OPT_PORT_BASE:
			if ((rc = cli_parse_port(c, "--port-base", optarg, &c->port_base)) >= 0)
				return rc;
			break;
		case OPT_PORT:
			if ((rc = cli_parse_port(c, "--port", optarg, &c->port)) >= 0)
				return rc;
			break;
		case OPT_ALL:
			c->all = 1;
			break;
		case 'o':
			c->out_dir = optarg;
			break;
		default:
			return cli_bad_option(c, argv);
		}
	}
	if (optind < argc)
		c->name = argv[optind++];
	if (optind < argc)
		return usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (c->all == !!c->name)
		return usage_error(c, "which scenario? NAME, or --all with --out DIR");
	if (c->all && !c->out_dir)
		return usage_error(c, "--all writes one file per scenario: it needs --out DIR");
	if (c->all && c->port)
		return usage_error(c, "--port is one listener's: it goes with NAME, not --all");
	return -1;
}

static int write_one(const struct cli *c, const struct scenario *s)
{
	int port = c->port ? c->port : c->port_base + s->port_offset;
	if (!c->out_dir) {
		rdpfile_write(s, c->host, port, stdout);
		return 0;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.rdp", c->out_dir, s->name);
	FILE *f = fopen(path, "w");
	if (!f) {
		cli_say(c, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	rdpfile_write(s, c->host, port, f);
	if (fclose(f) != 0) {
		cli_say(c, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	if (!c->all)
		printf("%s\n", path);
	return 0;
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
	if (!c->port && (rc = cli_check_port_base(c, c->port_base, max_offset)) >= 0)
		goto out;
	rc = EXIT_OK;
	if (c->out_dir && mkdir(c->out_dir, 0755) != 0 && errno != EEXIST) {
		cli_say(c, "cannot create %s: %s", c->out_dir, strerror(errno));
		rc = EXIT_RUNTIME;
		goto out;
	}
	if (c->all) {
		for (size_t i = 0; i < cat.n && rc == EXIT_OK; i++)
			if (write_one(c, cat.items[i]) != 0)
				rc = EXIT_RUNTIME;
		if (rc == EXIT_OK)
			printf("%zu files in %s\n", cat.n, c->out_dir);
		goto out;
	}
	const struct scenario *s = cli_find_scenario(&cat, c->name);
	if (!s) {
		cli_say(c, "no scenario named '%s' (see 'rdpfault list')", c->name);
		rc = EXIT_NO_SCENARIO;
	} else if (write_one(c, s) != 0) {
		rc = EXIT_RUNTIME;
	}
out:
	catalog_free(&cat);
	return rc;
}

const struct command cmd_rdp_file = {
        .name = "rdp-file",
        .summary = "the .rdp file that takes mstsc to a scenario (by its port)",
        .parse = parse,
        .run = run,
};
