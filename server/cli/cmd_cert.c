/* cmd_cert.c — `rdpfault cert export`: every scenario's certificate and
 * key, made as serve makes them, written to a directory. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <winpr/ssl.h>

#include "frontdoor/harness.h"

static const char usage[] =
        "Usage: rdpfault cert export --out DIR [OPTIONS]\n"
        "Write the certificate (NAME.crt) and key (NAME.key) every scenario serves, made as\n"
        "'serve' makes them, into DIR/certs (DIR is created mode 0700), and with --ca-dir the\n"
        "test CA's certificate; print each path. Keys and serial numbers differ from a running\n"
        "harness's; for those, run 'serve --runtime-dir DIR'. For mstsc's .rdp files see\n"
        "'rdpfault rdp-file'.\n"
        "\n"
        "  -o, --out DIR           where to write (required)\n"
        "  -C, --ca-dir DIR        sign with the test CA in DIR (made on first use)\n"
        "  -s, --scenario-dir DIR  the scenario directory\n"
        "      --set NAME.PATH=VALUE  change a scenario's field first (as serve --set)\n"
        "  -h, --help              this text\n";

static int parse(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
	        CLI_COMMON_OPTIONS,
	        {"out", required_argument, NULL, 'o'},
	        {"ca-dir", required_argument, NULL, 'C'},
	        {NULL, 0, NULL, 0},
	};
	int ch, rc;
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "export") != 0)
		return usage_error(c, "unknown subcommand '%s' (known: export)", argv[1]);
	c->cmd_name = "cert export";
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "+:o:C:s:h", opts, NULL)) != -1) {
		if ((rc = cli_common_option(c, ch, optarg, usage)) != -2) {
			if (rc >= 0)
				return rc;
			continue;
		}
		switch (ch) {
		case 'o':
			c->serve.runtime_dir = optarg;
			break;
		case 'C':
			c->serve.ca_dir = optarg;
			break;
		default:
			return cli_bad_option(c, argv);
		}
	}
	if (optind < argc)
		return usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (!c->serve.runtime_dir)
		return usage_error(c, "--out DIR is required");
	return -1;
}

static int run(struct cli *c)
{
	struct harness h;
	char err[512];
	winpr_InitializeSSL(WINPR_SSL_INIT_DEFAULT);
	int rc = harness_prepare(&h, &c->serve, err, sizeof(err));
	if (rc == 0 && serving_make_certs(&h.serving, 0, err, sizeof(err)) != 0)
		rc = -1;
	if (rc != 0) {
		int set_only = rc == -2 && h.catalog.set_problems > 0;
		cli_say(c, "%s", err);
		harness_free(&h);
		return cli_harness_exit(rc, set_only);
	}
	if (h.serving.ca_cert_path[0])
		printf("%s\n", h.serving.ca_cert_path);
	for (size_t i = 0; i < h.serving.n; i++)
		if (h.serving.items[i].cert_path[0])
			printf("%s\n", h.serving.items[i].cert_path);
	harness_free(&h);
	return EXIT_OK;
}

const struct command cmd_cert = {
        .name = "cert",
        .summary = "cert export: write every scenario's certificate (and the test CA)",
        .parse = parse,
        .run = run,
};
