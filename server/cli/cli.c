/* cli.c — command-line parsing and help (see cli.h).
 *
 * Every error names the option and the value that was wrong, and says
 * where to look, in one line on stderr, like curl's. */
#include "cli/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/render.h"
#include "catalog/scenario.h"

#define DEFAULT_PORT 3389
#define DEFAULT_PORT_BASE 33900
#define DEFAULT_SCENARIO "healthy-tls"
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_BACKLOG 4096
/* A dead client is noticed within 60 + 10 x 3 = 90 s of silence. */
#define DEFAULT_KEEPALIVE_IDLE_S 60
#define DEFAULT_KEEPALIVE_INTERVAL_S 10
#define DEFAULT_KEEPALIVE_COUNT 3

static const char usage_main[] =
        "Usage: rdpfault COMMAND [OPTIONS]\n"
        "An RDP server that reproduces named failure scenarios on the wire.\n"
        "\n"
        "Commands:\n"
        "  serve        serve the scenario catalog (default: on 127.0.0.1)\n"
        "  list         list the scenarios\n"
        "  show NAME    describe one scenario and what each client is expected to show\n"
        "  cert export  write every scenario's certificate (and the test CA) to a directory\n"
        "  matrix       run clients against scenarios, compare with the expectations, report\n"
        "               (JUnit, JSON, HTML); 'rdpfault matrix --help' for its options\n"
        "\n"
        "  -h, --help     this text; 'rdpfault COMMAND --help' for a command's options\n"
        "  -V, --version  print the version\n"
        "\n"
        "Exit codes:\n"
        "  0  success\n"
        "  1  runtime failure (cannot listen, cannot write a file, ...)\n"
        "  2  usage error (unknown command or option, bad value)\n"
        "  3  the scenario catalog is invalid (each problem is printed as FILE:LINE: FIELD: ...)\n"
        "  4  show: no such scenario\n"
        "  matrix: 0 every cell matched, 1 some cell drifted, 2 usage error\n";

static const char usage_serve[] =
        "Usage: rdpfault serve [OPTIONS]\n"
        "Serve the scenario catalog. A connection gets the scenario its X.224 cookie names\n"
        "(Cookie: mstshash=NAME; 'xfreerdp /u:NAME' sends it), else its listener's default.\n"
        "Without --listen and --port-base: --listen 127.0.0.1:3389 --port-base 33900.\n"
        "\n"
        "  -l, --listen ADDR:PORT[=SCENARIO]  listen on ADDR:PORT (IPv6: [::1]:PORT; PORT alone\n"
        "                           binds 127.0.0.1); its default scenario is SCENARIO or\n"
        "                           --default. Repeatable.\n"
        "  -p, --port-base PORT     also one listener per scenario on PORT + its port_offset\n"
        "      --port-host ADDR     address of the --port-base listeners (default 127.0.0.1)\n"
        "      --address-base ADDR  also one listener per scenario on port 3389 of its own\n"
        "                           IPv4 address, ADDR + its port_offset (e.g. 127.0.1.1), for\n"
        "                           clients that only reach port 3389 and send no cookie\n"
        "      --ready-file PATH    write PATH (this process's pid) once every listener is\n"
        "                           open, remove it at exit; default $RDPFAULT_READY_FILE\n"
        "  -d, --default NAME       the default scenario (default healthy-tls)\n"
        "  -s, --scenarios DIR      the scenario directory (default: the installed catalog)\n"
        "      --set NAME.PATH=VALUE  change one field of a scenario before it is checked,\n"
        "                           e.g. tls-version-mismatch.security.tls_max=1.3 (repeatable)\n"
        "  -e, --events FILE        append the JSON-lines event log to FILE ('-': stdout)\n"
        "  -r, --runtime-dir DIR    keep generated keys, certificates and NLA account files in\n"
        "                           DIR (mode 0700; default: a private temporary directory,\n"
        "                           removed at exit)\n"
        "  -C, --ca-dir DIR         test-CA mode: sign every certificate with the CA in DIR\n"
        "                           (rdpfault-ca.crt/.key, made on first use); trust\n"
        "                           DIR/rdpfault-ca.crt in a client to tell expired from\n"
        "                           self-signed\n"
        "  -t, --handshake-timeout MS  close connections not active after MS ms (default 30000)\n"
        "      --time-scale F    the server's own waits times F (0.01-100): faults' after_ms\n"
        "                        and duration_ms, and the handshake deadline (not below 15 s,\n"
        "                        so clients' own give-up timers still fire first). A scaled\n"
        "                        run is faster, not different\n"
        "      --backlog N          listen backlog (default 4096)\n"
        "      --keepalive IDLE,INTERVAL,COUNT  TCP keep-alive on every accepted socket: probes\n"
        "                           after IDLE s of silence, every INTERVAL s, COUNT of them; a\n"
        "                           client that answers none is closed as client-gone (default\n"
        "                           60,10,3; off: none)\n"
        "  -v, --verbose            more on stderr (twice: FreeRDP's own messages too)\n"
        "  -q, --quiet              only errors on stderr\n"
        "  -h, --help               this text\n";

static const char usage_list[] =
        "Usage: rdpfault list [OPTIONS]\n"
        "List the scenarios: name, port offset (or port with --port-base) and summary.\n"
        "\n"
        "  -s, --scenarios DIR   the scenario directory\n"
        "      --set NAME.PATH=VALUE  change a scenario's field first (as serve --set)\n"
        "  -p, --port-base PORT  show each scenario's port as 'serve --port-base PORT' gives it\n"
        "  -j, --json            JSON output\n"
        "  -h, --help            this text\n";

static const char usage_cert[] =
        "Usage: rdpfault cert export --out DIR [OPTIONS]\n"
        "Write the certificate (NAME.crt) and key (NAME.key) every scenario serves, made as\n"
        "'serve' makes them, into DIR/certs (DIR is created mode 0700), and with --ca-dir the\n"
        "test CA's certificate. Keys and serial numbers differ from a running harness's; for\n"
        "those, run 'serve --runtime-dir DIR'.\n"
        "\n"
        "  -o, --out DIR         where to write (required)\n"
        "  -C, --ca-dir DIR      sign with the test CA in DIR (made on first use)\n"
        "  -s, --scenarios DIR   the scenario directory\n"
        "  -h, --help            this text\n";

static const char usage_show[] =
        "Usage: rdpfault show NAME [OPTIONS]\n"
        "       rdpfault show --phases | --actions [--json]\n"
        "Describe a scenario: what it reproduces, the field report it stands for, what the\n"
        "server does, and what each client is expected to show. --phases lists the phases\n"
        "of the connection sequence a fault can strike at, --actions the faults' actions\n"
        "with their phases and parameters.\n"
        "\n"
        "      --phases          the phase model, in connection order\n"
        "      --actions         the fault actions\n"
        "  -s, --scenarios DIR   the scenario directory\n"
        "      --set NAME.PATH=VALUE  change a scenario's field first (as serve --set)\n"
        "  -j, --json            JSON output\n"
        "  -h, --help            this text\n";

const char *cli_default_scenarios_dir(void)
{
	static char path[PATH_MAX + 32];
	const char *env = getenv("RDPFAULT_SCENARIOS");
	struct stat st;
	if (env && *env)
		return env;
	/* Installed next to the binary: PREFIX/bin/rdpfault, PREFIX/share/... */
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/../share/rdpfault/scenarios", exe);
			if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
				return path;
		}
	}
	if (stat(RDPFAULT_SOURCE_SCENARIOS, &st) == 0)
		return RDPFAULT_SOURCE_SCENARIOS;
	return RDPFAULT_INSTALLED_SCENARIOS;
}

static int usage_error(const char *cmd, const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "rdpfault: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\nrdpfault: try 'rdpfault %s--help'\n", cmd);
	return EXIT_USAGE;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* A numeric IPv4 or IPv6 address (names are not looked up: the harness
 * must know at once which address it binds). */
static int numeric_address(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;
	return inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
}

/* ADDR:PORT[=SCENARIO], [V6]:PORT[=SCENARIO] or PORT[=SCENARIO]. */
static int parse_listen(const char *arg, struct listen_spec *ls)
{
	char *copy = strdup(arg), *hostpart, *portpart;
	long port;
	if (!copy)
		return -1;
	char *eq = strchr(copy, '=');
	if (eq) {
		*eq = '\0';
		if (!eq[1])
			goto bad;
	}
	if (copy[0] == '[') {
		char *close = strchr(copy, ']');
		if (!close || close[1] != ':')
			goto bad;
		*close = '\0';
		hostpart = copy + 1;
		portpart = close + 2;
	} else {
		char *colon = strrchr(copy, ':');
		if (colon && strchr(copy, ':') != colon)
			goto bad; /* bare IPv6 needs brackets */
		if (colon) {
			*colon = '\0';
			hostpart = copy;
			portpart = colon + 1;
		} else {
			hostpart = "127.0.0.1";
			portpart = copy;
		}
	}
	if (!*hostpart || parse_int(portpart, 1, 65535, &port) != 0 || !numeric_address(hostpart))
		goto bad;
	ls->host = strdup(hostpart);
	ls->port = (int)port;
	ls->scenario = eq ? strdup(eq + 1) : NULL;
	free(copy);
	return 0;
bad:
	free(copy);
	return -1;
}

/* --set NAME.PATH=VALUE, for every command that loads the catalog. */
static int add_set(struct cli *c, const char *cmd, const char *arg)
{
	struct harness_options *o = &c->serve;
	struct sc_override *n = realloc(o->sets, (o->n_sets + 1) * sizeof(*n));
	if (!n)
		return EXIT_RUNTIME;
	o->sets = n;
	if (sc_override_parse(arg, &o->sets[o->n_sets]) != 0)
		return usage_error(cmd,
		                   "--set '%s': expected NAME.PATH=VALUE, e.g. "
		                   "tls-version-mismatch.security.tls_max=1.3%s",
		                   arg, "");
	o->n_sets++;
	return -1;
}

static int parse_serve(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
	        {"listen", required_argument, NULL, 'l'},
	        {"port-base", required_argument, NULL, 'p'},
	        {"port-host", required_argument, NULL, 'H'},
	        {"address-base", required_argument, NULL, 'B'},
	        {"ready-file", required_argument, NULL, 'R'},
	        {"default", required_argument, NULL, 'd'},
	        {"scenarios", required_argument, NULL, 's'},
	        {"events", required_argument, NULL, 'e'},
	        {"runtime-dir", required_argument, NULL, 'r'},
	        {"ca-dir", required_argument, NULL, 'C'},
	        {"set", required_argument, NULL, 'S'},
	        {"handshake-timeout", required_argument, NULL, 't'},
	        {"time-scale", required_argument, NULL, 'T'},
	        {"backlog", required_argument, NULL, 'b'},
	        {"keepalive", required_argument, NULL, 'K'},
	        {"verbose", no_argument, NULL, 'v'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct harness_options *o = &c->serve;
	int ch, port_base_given = 0;
	long v;

	while ((ch = getopt_long(argc, argv, "+l:p:d:s:e:r:C:t:vqh", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': {
			struct listen_spec *n =
			        realloc(o->listens, (o->n_listens + 1) * sizeof(*n));
			if (!n)
				return EXIT_RUNTIME;
			o->listens = n;
			if (parse_listen(optarg, &o->listens[o->n_listens]) != 0)
				return usage_error(
				        "serve ",
				        "--listen '%s': expected ADDR:PORT[=SCENARIO]: a numeric "
				        "IPv4 or IPv6 address (IPv6 as [ADDR]:PORT) and a PORT "
				        "1-65535%s",
				        optarg, "");
			o->n_listens++;
			break;
		}
		case 'p':
			if (parse_int(optarg, 1, 65535, &v) != 0)
				return usage_error("serve ",
				                   "--port-base '%s': expected a port 1-65535%s",
				                   optarg, "");
			o->port_base = (int)v;
			port_base_given = 1;
			break;
		case 'H':
			if (!numeric_address(optarg))
				return usage_error(
				        "serve ",
				        "--port-host '%s': expected a numeric IPv4 or IPv6 "
				        "address%s",
				        optarg, "");
			o->port_base_host = optarg;
			break;
		case 'B': {
			struct in_addr a;
			if (inet_pton(AF_INET, optarg, &a) != 1)
				return usage_error(
				        "serve ", "--address-base '%s': expected an IPv4 address%s",
				        optarg, "");
			o->address_base = optarg;
			port_base_given = 1; /* listeners of its own: no implicit defaults */
			break;
		}
		case 'R':
			o->ready_file = optarg;
			break;
		case 'd':
			o->default_scenario = optarg;
			break;
		case 's':
			o->scenarios_dir = optarg;
			break;
		case 'e':
			o->events_path = optarg;
			break;
		case 'r':
			o->runtime_dir = optarg;
			break;
		case 'C':
			o->ca_dir = optarg;
			break;
		case 'S':
			if ((ch = add_set(c, "serve ", optarg)) >= 0)
				return ch;
			break;
		case 't':
			if (parse_int(optarg, 100, 86400000, &v) != 0)
				return usage_error(
				        "serve ",
				        "--handshake-timeout '%s': expected milliseconds, "
				        "100-86400000%s",
				        optarg, "");
			o->handshake_timeout_ms = (int)v;
			break;
		case 'T': {
			char *end;
			errno = 0;
			double f = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(f >= 0.01 && f <= 100))
				return usage_error(
				        "serve ", "--time-scale '%s': expected a factor 0.01-100%s",
				        optarg, "");
			o->time_scale = f;
			break;
		}
		case 'b':
			if (parse_int(optarg, 1, 1 << 20, &v) != 0)
				return usage_error("serve ", "--backlog '%s': expected 1-1048576%s",
				                   optarg, "");
			o->backlog = (int)v;
			break;
		case 'K': {
			long idle, intvl, cnt;
			char extra;
			if (strcmp(optarg, "off") == 0) {
				o->keepalive_idle_s = 0;
				break;
			}
			if (sscanf(optarg, "%ld,%ld,%ld%c", &idle, &intvl, &cnt, &extra) != 3 ||
			    idle < 1 || idle > 86400 || intvl < 1 || intvl > 3600 || cnt < 1 ||
			    cnt > 100)
				return usage_error(
				        "serve ",
				        "--keepalive '%s': expected IDLE,INTERVAL,COUNT (seconds "
				        "1-86400, seconds 1-3600, probes 1-100) or off%s",
				        optarg, "");
			o->keepalive_idle_s = (int)idle;
			o->keepalive_interval_s = (int)intvl;
			o->keepalive_count = (int)cnt;
			break;
		}
		case 'v':
			c->verbose++;
			break;
		case 'q':
			c->quiet = 1;
			break;
		case 'h':
			fputs(usage_serve, stdout);
			return EXIT_OK;
		default:
			return usage_error("serve ", "serve: bad option (see above)%s%s", "", "");
		}
	}
	if (optind < argc)
		return usage_error("serve ", "serve: unexpected argument '%s'%s", argv[optind], "");
	if (!o->n_listens && !port_base_given) {
		o->listens = calloc(1, sizeof(*o->listens));
		if (!o->listens)
			return EXIT_RUNTIME;
		o->listens[0].host = strdup("127.0.0.1");
		o->listens[0].port = DEFAULT_PORT;
		o->n_listens = 1;
		o->port_base = DEFAULT_PORT_BASE;
	}
	return -1;
}

static int parse_catalog_cmd(int argc, char **argv, struct cli *c, const char *cmd,
                             const char *usage)
{
	static const struct option opts[] = {
	        {"scenarios", required_argument, NULL, 's'},
	        {"set", required_argument, NULL, 'S'},
	        {"port-base", required_argument, NULL, 'p'},
	        {"json", no_argument, NULL, 'j'},
	        {"phases", no_argument, NULL, 'P'},
	        {"actions", no_argument, NULL, 'A'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	char prefix[16];
	int ch;
	long v;
	snprintf(prefix, sizeof(prefix), "%s ", cmd);
	while ((ch = getopt_long(argc, argv, "+s:p:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			c->serve.scenarios_dir = optarg;
			break;
		case 'S':
			if ((ch = add_set(c, prefix, optarg)) >= 0)
				return ch;
			break;
		case 'p':
			if (c->cmd != CMD_LIST)
				return usage_error(prefix, "%s: --port-base is an option of list%s",
				                   cmd, "");
			if (parse_int(optarg, 1, 65535, &v) != 0)
				return usage_error(prefix,
				                   "--port-base '%s': expected a port 1-65535%s",
				                   optarg, "");
			c->port_base = (int)v;
			break;
		case 'j':
			c->json = 1;
			break;
		case 'P':
		case 'A':
			if (c->cmd != CMD_SHOW)
				return usage_error(
				        prefix, "%s: --phases and --actions are options of show%s",
				        cmd, "");
			c->show_model = ch == 'P' ? RENDER_PHASES : RENDER_ACTIONS;
			break;
		case 'h':
			fputs(usage, stdout);
			return EXIT_OK;
		default:
			return usage_error(prefix, "%s: bad option (see above)%s", cmd, "");
		}
	}
	/* show takes NAME, before or after the options. */
	if (c->cmd == CMD_SHOW && c->show_model) {
		if (optind < argc)
			return usage_error(prefix,
			                   "show: --phases and --actions take no NAME ('%s')%s",
			                   argv[optind], "");
		return -1;
	}
	if (c->cmd == CMD_SHOW && !c->name) {
		if (optind >= argc)
			return usage_error(prefix, "show: which scenario? (%s%s)",
			                   "'rdpfault list' names them", "");
		c->name = argv[optind++];
		if (optind < argc)
			return parse_catalog_cmd(argc, argv, c, cmd, usage);
	}
	if (optind < argc)
		return usage_error(prefix, "%s: unexpected argument '%s'", cmd, argv[optind]);
	return -1;
}

static int parse_cert(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
	        {"out", required_argument, NULL, 'o'},
	        {"ca-dir", required_argument, NULL, 'C'},
	        {"scenarios", required_argument, NULL, 's'},
	        {"set", required_argument, NULL, 'S'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	int ch;
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_cert, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "export") != 0)
		return usage_error("cert ", "cert: unknown subcommand '%s'%s (known: export)",
		                   argv[1], "");
	optind = 1;
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "+o:C:s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			c->serve.runtime_dir = optarg;
			break;
		case 'C':
			c->serve.ca_dir = optarg;
			break;
		case 's':
			c->serve.scenarios_dir = optarg;
			break;
		case 'S':
			if ((ch = add_set(c, "cert ", optarg)) >= 0)
				return ch;
			break;
		case 'h':
			fputs(usage_cert, stdout);
			return EXIT_OK;
		default:
			return usage_error("cert ", "cert export: bad option (see above)%s%s", "",
			                   "");
		}
	}
	if (optind < argc)
		return usage_error("cert ", "cert export: unexpected argument '%s'%s", argv[optind],
		                   "");
	if (!c->serve.runtime_dir)
		return usage_error("cert ", "cert export: --out DIR is required%s%s", "", "");
	return -1;
}

int cli_parse(int argc, char **argv, struct cli *c)
{
	memset(c, 0, sizeof(*c));
	c->serve.port_base = -1;
	c->serve.port_base_host = "127.0.0.1";
	c->serve.default_scenario = DEFAULT_SCENARIO;
	c->serve.handshake_timeout_ms = DEFAULT_TIMEOUT_MS;
	c->serve.time_scale = 1;
	c->serve.ready_file = getenv("RDPFAULT_READY_FILE");
	if (c->serve.ready_file && !*c->serve.ready_file)
		c->serve.ready_file = NULL;
	c->serve.backlog = DEFAULT_BACKLOG;
	c->serve.keepalive_idle_s = DEFAULT_KEEPALIVE_IDLE_S;
	c->serve.keepalive_interval_s = DEFAULT_KEEPALIVE_INTERVAL_S;
	c->serve.keepalive_count = DEFAULT_KEEPALIVE_COUNT;
	c->port_base = -1;

	if (argc < 2) {
		fputs(usage_main, stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_main, stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		printf("rdpfault %s\n", RDPFAULT_VERSION);
		return EXIT_OK;
	}
	optind = 1; /* argv[1] is the command: getopt starts after it */
	argc--;
	argv++;
	if (strcmp(cmd, "serve") == 0) {
		c->cmd = CMD_SERVE;
		return parse_serve(argc, argv, c);
	}
	if (strcmp(cmd, "list") == 0) {
		c->cmd = CMD_LIST;
		return parse_catalog_cmd(argc, argv, c, "list", usage_list);
	}
	if (strcmp(cmd, "show") == 0) {
		c->cmd = CMD_SHOW;
		return parse_catalog_cmd(argc, argv, c, "show", usage_show);
	}
	if (strcmp(cmd, "cert") == 0) {
		c->cmd = CMD_CERT_EXPORT;
		return parse_cert(argc, argv, c);
	}
	if (strcmp(cmd, "matrix") == 0) {
		/* The runner parses its own options (and prints its --help). */
		c->cmd = CMD_MATRIX;
		c->matrix_argc = argc - 1;
		c->matrix_argv = argv + 1;
		return -1;
	}
	return usage_error("", "unknown command '%s'%s (commands: serve, list, show, cert, matrix)",
	                   cmd, "");
}

void cli_free(struct cli *c)
{
	for (size_t i = 0; i < c->serve.n_listens; i++) {
		free(c->serve.listens[i].host);
		free(c->serve.listens[i].scenario);
	}
	free(c->serve.listens);
	for (size_t i = 0; i < c->serve.n_sets; i++)
		free((char *)c->serve.sets[i].scenario);
	free(c->serve.sets);
}
