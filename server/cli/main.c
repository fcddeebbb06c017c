/* main.c — rdpfault's entry point: parse the command line, then serve the
 * catalog, list it, or show one scenario. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <winpr/ssl.h>

#include "base/events.h"
#include "base/log.h"
#include "catalog/render.h"
#include "cli/cli.h"
#include "engine/peer.h"
#include "freerdp/tlshook.h"
#include "freerdp/warmup.h"
#include "freerdp/wloghook.h"
#include "frontdoor/harness.h"
#include "frontdoor/listener.h"

static int load_catalog(const struct cli *c, struct catalog *cat)
{
	const char *dir = c->serve.scenarios_dir;
	int problems = catalog_load_dir_with(dir, c->serve.sets, c->serve.n_sets, cat, stderr);
	if (!problems) {
		problems = catalog_check_faults(cat, stderr);
		if (problems)
			catalog_free(cat);
	}
	if (problems) {
		fprintf(stderr, "rdpfault: %d problem%s in the scenario catalog %s\n", problems,
		        problems == 1 ? "" : "s", dir);
		return EXIT_CATALOG;
	}
	return EXIT_OK;
}

static int cmd_list(const struct cli *c)
{
	struct catalog cat;
	int rc = load_catalog(c, &cat);
	if (rc)
		return rc;
	render_list(&cat, c->port_base, c->json, stdout);
	catalog_free(&cat);
	return EXIT_OK;
}

/* matrix: the runner is Python (client orchestration, XML and HTML
 * reports are its strengths); this finds it and hands over, with this
 * binary as the harness it starts. */
static int cmd_matrix(const struct cli *c)
{
	char exe[PATH_MAX], runner[PATH_MAX + 64];
	const char *env = getenv("RDPFAULT_MATRIX");
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;
	if (n <= 0) {
		fprintf(stderr, "rdpfault: matrix: cannot find this binary: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	exe[n] = '\0';
	if (env && *env) {
		snprintf(runner, sizeof(runner), "%s", env);
	} else {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", exe);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		snprintf(runner, sizeof(runner), "%s/../share/rdpfault/client-tests/matrix.py",
		         dir);
		if (stat(runner, &st) != 0)
			snprintf(runner, sizeof(runner), "%s", RDPFAULT_SOURCE_MATRIX);
	}
	if (stat(runner, &st) != 0) {
		fprintf(stderr, "rdpfault: matrix: runner '%s' not found (set RDPFAULT_MATRIX)\n",
		        runner);
		return EXIT_RUNTIME;
	}
	char **argv = calloc((size_t)c->matrix_argc + 5, sizeof(*argv));
	if (!argv)
		return EXIT_RUNTIME;
	int k = 0;
	argv[k++] = "python3";
	argv[k++] = runner;
	argv[k++] = "--rdpfault";
	argv[k++] = exe;
	for (int i = 0; i < c->matrix_argc; i++)
		argv[k++] = c->matrix_argv[i];
	argv[k] = NULL;
	fflush(NULL);
	execvp("python3", argv);
	fprintf(stderr,
	        "rdpfault: matrix: cannot run python3: %s (install python3 and python3-yaml)\n",
	        strerror(errno));
	free(argv);
	return EXIT_RUNTIME;
}

static int cmd_show(const struct cli *c)
{
	if (c->show_model) {
		render_model(c->show_model, c->json, stdout);
		return EXIT_OK;
	}
	struct catalog cat;
	int rc = load_catalog(c, &cat);
	if (rc)
		return rc;
	const struct scenario *s = catalog_find(&cat, c->name);
	if (!s) {
		fprintf(stderr, "rdpfault: show: no scenario named '%s' (see 'rdpfault list')\n",
		        c->name);
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

/* OpenSSL as FreeRDP needs it: with the legacy provider (MD4 for NTLM). */
static void init_crypto(void)
{
	winpr_InitializeSSL(WINPR_SSL_INIT_DEFAULT);
}

static int cmd_cert_export(struct cli *c)
{
	struct harness h;
	char err[512];
	init_crypto();
	int rc = harness_prepare(&h, &c->serve, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "rdpfault: cert export: %s\n", err);
		harness_free(&h);
		return rc == -2 ? EXIT_CATALOG : rc == -3 ? EXIT_USAGE : EXIT_RUNTIME;
	}
	if (h.serving.ca_cert_path[0])
		printf("%s\n", h.serving.ca_cert_path);
	for (size_t i = 0; i < h.serving.n; i++)
		if (h.serving.items[i].cert_path[0])
			printf("%s\n", h.serving.items[i].cert_path);
	harness_free(&h);
	return EXIT_OK;
}

static int cmd_serve(struct cli *c)
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
	init_crypto();
	if (!tlshook_ready()) {
		log_error("cannot find libssl's SSL_do_handshake");
		return EXIT_RUNTIME;
	}
	if (wloghook_install(c->verbose >= 2, peer_install_hooks()) != 0) {
		log_error("cannot install the FreeRDP log hook");
		return EXIT_RUNTIME;
	}
	if (freerdp_warm_statics() != 0) {
		log_error("FreeRDP cannot make a peer");
		return EXIT_RUNTIME;
	}
	events_clock_start();
	if (c->serve.ready_file &&
	    harness_check_ready_file(c->serve.ready_file, err, sizeof(err))) {
		log_error("%s", err);
		return EXIT_RUNTIME;
	}
	if (events_open(c->serve.events_path, err, sizeof(err)) != 0) {
		log_error("%s", err);
		return EXIT_RUNTIME;
	}
	rc = harness_prepare(&h, &c->serve, err, sizeof(err));
	if (rc == 0)
		rc = harness_listen(&h, err, sizeof(err));
	if (rc != 0) {
		log_error("%s", err);
		events_emit(0, "error", json_pack("{s:s}", "error", err));
		events_close();
		harness_free(&h);
		return rc == -2 ? EXIT_CATALOG : rc == -3 ? EXIT_USAGE : EXIT_RUNTIME;
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
	if (c->serve.port_base >= 0 && used < sizeof(summary))
		snprintf(summary + used, sizeof(summary) - used,
		         "%sone port per scenario from %s:%d", used ? "; " : "",
		         c->serve.port_base_host, c->serve.port_base);
	log_info("serving %zu scenarios: %s; keys in %s", h.catalog.n, summary,
	         h.serving.runtime_dir);
	rc = harness_run(&h);
	int sink_blocked = events_close() != 0;
	if (h.peers_left || sink_blocked) {
		/* A peer thread is still inside FreeRDP: freeing what it uses
		 * would race it. Everything logged is written; leave now. */
		if (h.peers_left)
			log_warn("peer threads still running at exit");
		serving_remove_runtime(&h.serving);
		fflush(stderr);
		_exit(rc);
	}
	harness_free(&h);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli c;
	int rc = cli_parse(argc, argv, &c);
	if (rc >= 0) {
		cli_free(&c);
		return rc;
	}
	if (!c.serve.scenarios_dir)
		c.serve.scenarios_dir = cli_default_scenarios_dir();
	switch (c.cmd) {
	case CMD_SERVE:
		rc = cmd_serve(&c);
		break;
	case CMD_LIST:
		rc = cmd_list(&c);
		break;
	case CMD_SHOW:
		rc = cmd_show(&c);
		break;
	case CMD_CERT_EXPORT:
		rc = cmd_cert_export(&c);
		break;
	case CMD_MATRIX:
		rc = cmd_matrix(&c);
		break;
	default:
		rc = EXIT_USAGE;
	}
	cli_free(&c);
	return rc;
}
