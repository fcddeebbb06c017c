/* cmd_serve.c — `rdpfault serve`: its options, then the harness run until
 * a signal, every file it made removed at exit. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <winpr/ssl.h>

#include "base/events.h"
#include "base/log.h"
#include "base/netaddr.h"
#include "catalog/netplan.h"
#include "engine/peer.h"
#include "freerdp/tlshook.h"
#include "freerdp/warmup.h"
#include "freerdp/wloghook.h"
#include "frontdoor/harness.h"
#include "frontdoor/listener.h"
#include "control/api.h"
#include "control/auth.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_BACKLOG 4096
/* A dead client is noticed within 60 + 10 x 3 = 90 s of silence. */
#define DEFAULT_KEEPALIVE_IDLE_S 60
#define DEFAULT_KEEPALIVE_INTERVAL_S 10
#define DEFAULT_KEEPALIVE_COUNT 3

static const char usage[] =
        "Usage: rdpfault serve [OPTIONS]\n"
        "Serve the scenario catalog. A connection gets the scenario its X.224 cookie names\n"
        "(Cookie: mstshash=NAME; 'xfreerdp /u:NAME' sends it): a scenario's name or alias,\n"
        "or the one name the 9 characters mstsc sends begin; else its listener's default.\n"
        "mstsc: select by the scenario's own port ('rdpfault rdp-file NAME').\n"
        "Without --listen and --port-base: --listen 127.0.0.1:3389 --port-base 13390.\n"
        "\n"
        "  -l, --listen ADDR:PORT[=SCENARIO]  listen on ADDR:PORT (IPv6: [::1]:PORT; PORT alone\n"
        "                           binds 127.0.0.1; PORT 0: the kernel chooses); its default\n"
        "                           scenario is SCENARIO or --default. Repeatable.\n"
        "                           SCENARIO may be a schedule, NAME*COUNT,...,NAME: each\n"
        "                           client address's first COUNT connections get NAME, and\n"
        "                           so on, the last NAME for good (e.g. =reset-at-mcs-connect*2,\n"
        "                           healthy-tls: fail twice, then succeed)\n"
        "  -p, --port-base PORT     also one listener per scenario on PORT + its port_offset\n"
        "                           (0: a port the kernel chooses for each)\n"
        "      --port-host ADDR     address of the --port-base listeners (default 127.0.0.1)\n"
        "      --address-base ADDR  also one listener per scenario on port 3389 of its own\n"
        "                           IPv4 address, ADDR + its port_offset (e.g. 127.0.1.1), for\n"
        "                           clients that only reach port 3389 and send no cookie\n"
        "      --ports-file PATH    write every listener's real port and scenario as JSON to\n"
        "                           PATH once listening, remove it at exit\n"
        "      --ready-file PATH    write PATH (this process's pid) once every listener is\n"
        "                           open, remove it at exit; default $RDPFAULT_READY_FILE\n"
        "  -d, --default NAME       the default scenario (default healthy-tls)\n"
        "  -s, --scenario-dir DIR   the scenario directory (default: the installed catalog)\n"
        "      --set NAME.PATH=VALUE  change one field of a scenario before it is checked,\n"
        "                           e.g. tls-version-mismatch.security.tls_max=1.3, or a list:\n"
        "                           healthy-tls.security.protocols=[tls,rdp] (repeatable)\n"
        "  -e, --events FILE        append the JSON-lines event log to FILE ('-': stdout)\n"
        "  -r, --runtime-dir DIR    keep generated keys, certificates and NLA account files in\n"
        "                           DIR (mode 0700; default: a private temporary directory,\n"
        "                           removed at exit)\n"
        "  -C, --ca-dir DIR         test-CA mode: sign every certificate with the CA in DIR\n"
        "                           (rdpfault-ca.crt/.key, made on first use); trust\n"
        "                           DIR/rdpfault-ca.crt in a client to tell expired from\n"
        "                           self-signed\n"
        "  -t, --handshake-timeout MS  close connections not active after MS ms (default 30000)\n"
        "      --time-scale F       the server's own waits times F (0.01-100): faults' after_ms\n"
        "                           and duration_ms, and the handshake deadline (not below 15 s,\n"
        "                           so clients' own give-up timers still fire first). A scaled\n"
        "                           run is faster, not different\n"
        "      --backlog N          listen backlog (default 4096)\n"
        "      --keepalive IDLE,INTERVAL,COUNT  TCP keep-alive on every accepted socket: probes\n"
        "                           after IDLE s of silence, every INTERVAL s, COUNT of them; a\n"
        "                           client that answers none is closed as client-gone (default\n"
        "                           60,10,3; off: none)\n"
        "  -n, --network SPEC       a network condition on every connection of every scenario,\n"
        "                           after the scenario's own: TYPE[:STREAM][:KEY=VALUE,...],\n"
        "                           STREAM upstream, downstream (default) or both; KEY an\n"
        "                           attribute of TYPE, or name, toxicity, from_phase,\n"
        "                           after_bytes. E.g. latency:downstream:latency=300,jitter=20\n"
        "                           or blackhole:both:from_phase=tls-client-hello. Types and\n"
        "                           attributes: 'rdpfault show --network'. Repeatable\n"
        "      --network-queue SIZE  bytes a direction's conditions may hold before its sender\n"
        "                           is no longer read (default 1M; 4K-1G, K and M suffixes):\n"
        "                           with latency, also the link's bandwidth-delay product\n"
        "      --seed N             the seed of every random draw (toxicity, jitter, loss;\n"
        "                           default 1): the same seed, the same draws per connection\n"
        "      --api ADDR:PORT|off  the control API (HTTP/JSON, docs/api.md) on ADDR:PORT, a\n"
        "                           loopback address (default 127.0.0.1:8390; PORT 0: the\n"
        "                           kernel chooses; the start event says where). Without\n"
        "                           --api a busy default port only turns the API off. Another\n"
        "                           address needs a token\n"
        "      --api-token TOKEN    every API request must send 'Authorization: Bearer TOKEN'\n"
        "                           (16-256 visible characters; default $RDPFAULT_API_TOKEN)\n"
        "      --api-token-file FILE  the same, the token the file's first line (not seen by ps)\n"
        "  -v, --verbose            more on stderr (twice: FreeRDP's own messages too)\n"
        "  -q, --quiet              only errors on stderr\n"
        "  -h, --help               this text\n"
        "\n"
        "SIGINT, SIGTERM and SIGHUP stop it: listeners close, connections end, the event log\n"
        "is flushed with a 'stop' event, and the ready file, the ports file and the generated\n"
        "keys are removed.\n";

enum {
	OPT_PORT_HOST = OPT_FIRST_OWN,
	OPT_ADDRESS_BASE,
	OPT_READY_FILE,
	OPT_PORTS_FILE,
	OPT_TIME_SCALE,
	OPT_BACKLOG,
	OPT_KEEPALIVE,
	OPT_SEED,
	OPT_NETWORK_QUEUE,
	OPT_API,
	OPT_API_TOKEN,
	OPT_API_TOKEN_FILE,
};

/* The token in FILE: its first line, which must not be empty. NULL with
 * why set when it cannot be read. */
static char *read_token(const char *path, char *why, size_t n)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(why, n, "%s", strerror(errno));
		return NULL;
	}
	char line[API_TOKEN_MAX + 2] = "";
	if (!fgets(line, sizeof line, f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (!line[0]) {
		snprintf(why, n, "the file's first line is empty");
		return NULL;
	}
	return strdup(line);
}

/* 1: a numeric loopback address; 0: another numeric one; -1: not one. */
static int loopback_host(const char *host, struct sockaddr_storage *ss)
{
	socklen_t len;
	if (addr_parse(host, 0, ss, &len) != 0)
		return -1;
	return addr_is_loopback((struct sockaddr *)ss);
}

static int parse(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
	        CLI_COMMON_OPTIONS,
	        {"listen", required_argument, NULL, 'l'},
	        {"port-base", required_argument, NULL, OPT_PORT_BASE},
	        {"port-host", required_argument, NULL, OPT_PORT_HOST},
	        {"address-base", required_argument, NULL, OPT_ADDRESS_BASE},
	        {"ready-file", required_argument, NULL, OPT_READY_FILE},
	        {"ports-file", required_argument, NULL, OPT_PORTS_FILE},
	        {"default", required_argument, NULL, 'd'},
	        {"events", required_argument, NULL, 'e'},
	        {"runtime-dir", required_argument, NULL, 'r'},
	        {"ca-dir", required_argument, NULL, 'C'},
	        {"handshake-timeout", required_argument, NULL, 't'},
	        {"time-scale", required_argument, NULL, OPT_TIME_SCALE},
	        {"backlog", required_argument, NULL, OPT_BACKLOG},
	        {"keepalive", required_argument, NULL, OPT_KEEPALIVE},
	        {"network", required_argument, NULL, 'n'},
	        {"seed", required_argument, NULL, OPT_SEED},
	        {"network-queue", required_argument, NULL, OPT_NETWORK_QUEUE},
	        {"api", required_argument, NULL, OPT_API},
	        {"api-token", required_argument, NULL, OPT_API_TOKEN},
	        {"api-token-file", required_argument, NULL, OPT_API_TOKEN_FILE},
	        {"verbose", no_argument, NULL, 'v'},
	        {"quiet", no_argument, NULL, 'q'},
	        {NULL, 0, NULL, 0},
	};
	struct harness_options *o = &c->serve;
	int ch, rc, port_base_given = 0;
	long v;

	o->handshake_timeout_ms = DEFAULT_TIMEOUT_MS;
	o->seed = 1;
	c->api.host = strdup("127.0.0.1");
	c->api.port = DEFAULT_API_PORT;
	o->network_queue = 1u << 20;
	o->backlog = DEFAULT_BACKLOG;
	o->keepalive_idle_s = DEFAULT_KEEPALIVE_IDLE_S;
	o->keepalive_interval_s = DEFAULT_KEEPALIVE_INTERVAL_S;
	o->keepalive_count = DEFAULT_KEEPALIVE_COUNT;
	o->ready_file = getenv("RDPFAULT_READY_FILE");
	if (o->ready_file && !*o->ready_file)
		o->ready_file = NULL;
	while ((ch = getopt_long(argc, argv, "+:l:p:d:s:e:r:C:t:n:vqh", opts, NULL)) != -1) {
		if ((rc = cli_common_option(c, ch, optarg, usage)) != -2) {
			if (rc >= 0)
				return rc;
			continue;
		}
		switch (ch) {
		case 'l': {
			struct listen_spec *n =
			        realloc(o->listens, (o->n_listens + 1) * sizeof(*n));
			if (!n)
				return EXIT_RUNTIME;
			o->listens = n;
			if (parse_listen(optarg, &o->listens[o->n_listens]) != 0)
				return usage_error(
				        c,
				        "--listen '%s': expected ADDR:PORT[=SCENARIO]: a "
				        "numeric IPv4 or IPv6 address (IPv6 as [ADDR]:PORT) "
				        "and a PORT 0-65535 (0: the kernel chooses)",
				        optarg);
			o->n_listens++;
			break;
		}
		case OPT_PORT_BASE:
			if (parse_long(optarg, 0, 65535, &v) != 0)
				return usage_error(
				        c,
				        "--port-base '%s': expected a port 0-65535 (0: the "
				        "kernel chooses each)",
				        optarg);
			o->port_base = (int)v;
			port_base_given = 1;
			break;
		case OPT_PORT_HOST:
			if (!numeric_address(optarg))
				return usage_error(
				        c,
				        "--port-host '%s': expected a numeric IPv4 or IPv6 "
				        "address",
				        optarg);
			o->port_base_host = optarg;
			break;
		case OPT_ADDRESS_BASE: {
			struct in_addr a;
			if (inet_pton(AF_INET, optarg, &a) != 1)
				return usage_error(
				        c, "--address-base '%s': expected an IPv4 address", optarg);
			o->address_base = optarg;
			port_base_given = 1; /* listeners of its own: no implicit defaults */
			break;
		}
		case OPT_READY_FILE:
			o->ready_file = optarg;
			break;
		case OPT_PORTS_FILE:
			o->ports_file = optarg;
			break;
		case 'd':
			o->default_scenario = optarg;
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
		case 't':
			if (parse_long(optarg, 100, 86400000, &v) != 0)
				return usage_error(
				        c,
				        "--handshake-timeout '%s': expected milliseconds, "
				        "100-86400000",
				        optarg);
			o->handshake_timeout_ms = (int)v;
			break;
		case OPT_TIME_SCALE: {
			char *end;
			errno = 0;
			double f = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(f >= 0.01 && f <= 100))
				return usage_error(
				        c, "--time-scale '%s': expected a factor 0.01-100", optarg);
			o->time_scale = f;
			break;
		}
		case OPT_BACKLOG:
			if (parse_long(optarg, 1, 1 << 20, &v) != 0)
				return usage_error(c, "--backlog '%s': expected 1-1048576", optarg);
			o->backlog = (int)v;
			break;
		case OPT_KEEPALIVE: {
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
				        c,
				        "--keepalive '%s': expected IDLE,INTERVAL,COUNT "
				        "(seconds 1-86400, seconds 1-3600, probes 1-100) or "
				        "off",
				        optarg);
			o->keepalive_idle_s = (int)idle;
			o->keepalive_interval_s = (int)intvl;
			o->keepalive_count = (int)cnt;
			break;
		}
		case 'n': {
			char why[256];
			struct net_cond *v2 =
			        realloc(o->network, (o->n_network + 1) * sizeof(*o->network));
			if (!v2)
				return EXIT_RUNTIME;
			o->network = v2;
			if (net_cond_parse_spec(optarg, &o->network[o->n_network], why,
			                        sizeof why) < 0)
				return usage_error(c, "--network '%s': %s", optarg, why);
			o->n_network++;
			break;
		}
		case OPT_API: {
			free(c->api.host);
			free(c->api.scenario);
			memset(&c->api, 0, sizeof c->api);
			c->api_given = 1;
			if (!strcmp(optarg, "off"))
				break;
			struct sockaddr_storage ss;
			if (parse_listen(optarg, &c->api) != 0 || c->api.scenario ||
			    !strchr(optarg, ':') || loopback_host(c->api.host, &ss) < 0)
				return usage_error(c, "--api '%s': expected ADDR:PORT or off",
				                   optarg);
			c->api_exposed = loopback_host(c->api.host, &ss) == 0;
			break;
		}
		case OPT_API_TOKEN:
		case OPT_API_TOKEN_FILE: {
			char why[128];
			free(c->api_token);
			c->api_token = ch == OPT_API_TOKEN ? strdup(optarg)
			                                   : read_token(optarg, why, sizeof why);
			if (!c->api_token)
				return usage_error(c, "--api-token-file '%s': %s", optarg, why);
			if (api_token_check(c->api_token, why, sizeof why) != 0)
				return usage_error(c, "--api-token%s: %s",
				                   ch == OPT_API_TOKEN ? "" : "-file", why);
			break;
		}
		case OPT_NETWORK_QUEUE: {
			char *end;
			errno = 0;
			unsigned long long q = strtoull(optarg, &end, 10);
			if (*end == 'K' || *end == 'k')
				q <<= 10, end++;
			else if (*end == 'M' || *end == 'm')
				q <<= 20, end++;
			else if (*end == 'G' || *end == 'g')
				q <<= 30, end++;
			if (errno || end == optarg || *end || optarg[0] == '-' || q < 4096 ||
			    q > (1ull << 30))
				return usage_error(
				        c,
				        "--network-queue '%s': expected bytes, 4K-1G (e.g. "
				        "16M)",
				        optarg);
			o->network_queue = (size_t)q;
			break;
		}
		case OPT_SEED: {
			char *end;
			errno = 0;
			unsigned long long seed = strtoull(optarg, &end, 0);
			if (errno || end == optarg || *end || optarg[0] == '-')
				return usage_error(c, "--seed '%s': expected a whole number 0-%llu",
				                   optarg, (unsigned long long)UINT64_MAX);
			o->seed = (uint64_t)seed;
			break;
		}
		case 'v':
			c->verbose++;
			break;
		case 'q':
			c->quiet = 1;
			break;
		default:
			return cli_bad_option(c, argv);
		}
	}
	if (optind < argc)
		return usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (!c->api_token && getenv("RDPFAULT_API_TOKEN")) {
		char why[128];
		c->api_token = strdup(getenv("RDPFAULT_API_TOKEN"));
		if (c->api_token && api_token_check(c->api_token, why, sizeof why) != 0)
			return usage_error(c, "$RDPFAULT_API_TOKEN: %s", why);
	}
	if (c->api.host && c->api_exposed && !c->api_token)
		return usage_error(c,
		                   "--api %s:%d: a non-loopback address needs a token "
		                   "(--api-token, --api-token-file or $RDPFAULT_API_TOKEN)",
		                   c->api.host, c->api.port);
	if (o->ready_file && o->ports_file && strcmp(o->ready_file, o->ports_file) == 0)
		return usage_error(c, "--ready-file and --ports-file are both '%s'", o->ready_file);
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

/* The listeners whose port the kernel chose, on stdout (unless the event
 * log is there: its "start" event says them), so a script can read them. */
static void print_chosen_ports(const struct cli *c, const struct harness *h)
{
	if (c->serve.events_path && strcmp(c->serve.events_path, "-") == 0)
		return;
	for (size_t i = 0; i < h->front.n_listeners; i++) {
		const struct listener *l = &h->front.listeners[i];
		if (l->port_chosen)
			printf("listening %s %s\n", l->name, served_name(l->def));
	}
	fflush(stdout);
}

static int run(struct cli *c)
{
	struct harness h;
	char err[512];
	int rc;

	signal(SIGPIPE, SIG_IGN);
	/* Few arenas: a peer thread's FreeRDP context (~2.7 MB) then lands in
	 * memory the next peer reuses, not in an arena of its own that keeps
	 * its peak for good. */
	mallopt(M_ARENA_MAX, 2);
	log_set_level(c->quiet ? LOG_ERROR : c->verbose ? LOG_DEBUG : LOG_INFO);
	/* OpenSSL as FreeRDP needs it. */
	winpr_InitializeSSL(WINPR_SSL_INIT_DEFAULT);
	if (!tlshook_ready()) {
		cli_say(c, "cannot find libssl's SSL_do_handshake");
		return EXIT_RUNTIME;
	}
	if (wloghook_install(c->verbose >= 2, peer_install_hooks()) != 0) {
		cli_say(c, "cannot install the FreeRDP log hook");
		return EXIT_RUNTIME;
	}
	if (freerdp_warm_statics() != 0) {
		cli_say(c, "FreeRDP cannot make a peer");
		return EXIT_RUNTIME;
	}
	events_clock_start();
	if ((c->serve.ready_file &&
	     harness_check_file("--ready-file", c->serve.ready_file, err, sizeof(err))) ||
	    (c->serve.ports_file &&
	     harness_check_file("--ports-file", c->serve.ports_file, err, sizeof(err)))) {
		cli_say(c, "%s", err);
		return EXIT_RUNTIME;
	}
	if (events_open(c->serve.events_path, err, sizeof(err)) != 0) {
		cli_say(c, "%s", err);
		return EXIT_RUNTIME;
	}
	events_start_first();
	rc = harness_prepare(&h, &c->serve, err, sizeof(err));
	if (rc == 0)
		rc = harness_listen(&h, err, sizeof(err));
	if (rc != 0) {
		int set_only = rc == -2 && h.catalog.set_problems > 0;
		if (rc == -3)
			usage_error(c, "%s", err);
		else
			cli_say(c, "%s", err);
		events_emit(0, "error", json_pack("{s:s}", "error", err));
		events_close();
		harness_free(&h);
		return cli_harness_exit(rc, set_only);
	}
	for (size_t i = 0; i < h.front.n_listeners; i++)
		log_debug("listening on %s (default %s)", h.front.listeners[i].name,
		          served_name(h.front.listeners[i].def));
	char summary[1024];
	size_t used = 0;
	for (size_t i = 0; i < c->serve.n_listens && used < sizeof(summary); i++)
		used += (size_t)snprintf(
		        summary + used, sizeof(summary) - used, "%s%s (default %s)", i ? ", " : "",
		        h.front.listeners[i].name, served_name(h.front.listeners[i].def));
	if (c->serve.port_base > 0 && used < sizeof(summary))
		snprintf(summary + used, sizeof(summary) - used,
		         "%sone port per scenario from %s:%d", used ? "; " : "",
		         c->serve.port_base_host, c->serve.port_base);
	else if (c->serve.port_base == 0 && used < sizeof(summary))
		snprintf(summary + used, sizeof(summary) - used,
		         "%sone port per scenario on %s, chosen by the kernel", used ? "; " : "",
		         c->serve.port_base_host);
	log_info("serving %zu scenarios: %s; keys in %s", h.catalog.n, summary,
	         h.serving.runtime_dir);
	print_chosen_ports(c, &h);
	struct api *api = NULL;
	if (c->api.host &&
	    api_start(&api, &h, c->api.host, c->api.port, c->api_token, err, sizeof(err)) != 0) {
		if (c->api_given) {
			cli_say(c, "%s", err);
			events_emit(0, "error", json_pack("{s:s}", "error", err));
			events_close();
			harness_free(&h);
			return EXIT_RUNTIME;
		}
		log_warn("%s: the control API is off (give --api ADDR:PORT, or --api off)", err);
	}
	rc = harness_run(&h);
	api_stop(api); /* before the log closes and the loop is freed */
	int sink_blocked = events_close() != 0;
	if (h.peers_left || sink_blocked) {
		/* A peer thread is still inside FreeRDP: freeing what it uses
		 * would race it. Everything logged is written; leave now. */
		if (h.peers_left)
			log_warn("peer threads still running at exit");
		harness_remove_files(&h);
		fflush(stderr);
		_exit(rc);
	}
	harness_free(&h);
	return rc;
}

const struct command cmd_serve = {
        .name = "serve",
        .summary = "serve the scenario catalog (default: on 127.0.0.1)",
        .parse = parse,
        .run = run,
};
