/* args.c — what the subcommands share (see cli.h): messages in one form,
 * numbers, addresses and listeners parsed, the common options, the catalog
 * loaded with --set problems told apart, and the Python runners. */
#include "cli/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/faultplan.h"
#include "catalog/netplan.h"
#include "catalog/schedule.h"

static const char *name_of(const struct cli *c)
{
	return c && c->cmd_name ? c->cmd_name : NULL;
}

void cli_say(const struct cli *c, const char *fmt, ...)
{
	va_list ap;
	const char *cmd = name_of(c);
	fprintf(stderr, cmd ? "rdpfault %s: " : "rdpfault: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int usage_error(const struct cli *c, const char *fmt, ...)
{
	va_list ap;
	const char *cmd = name_of(c);
	fprintf(stderr, cmd ? "rdpfault %s: " : "rdpfault: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "\nrdpfault %s: try 'rdpfault %s --help'\n", cmd, cmd);
	else
		fprintf(stderr, "\nrdpfault: try 'rdpfault --help'\n");
	return EXIT_USAGE;
}

int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_port(const struct cli *c, const char *flag, const char *arg, int *out)
{
	long v;
	if (parse_long(arg, 1, 65535, &v) != 0)
		return usage_error(c, "%s '%s': expected a port 1-65535", flag, arg);
	*out = (int)v;
	return -1;
}

int numeric_address(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;
	return inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
}

int parse_listen(const char *arg, struct listen_spec *ls)
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
	if (!*hostpart || parse_long(portpart, 0, 65535, &port) != 0 || !numeric_address(hostpart))
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

static int add_set(struct cli *c, const char *arg)
{
	struct harness_options *o = &c->serve;
	struct sc_override *n = realloc(o->sets, (o->n_sets + 1) * sizeof(*n));
	if (!n)
		return EXIT_RUNTIME;
	o->sets = n;
	if (sc_override_parse(arg, &o->sets[o->n_sets]) != 0)
		return usage_error(c,
		                   "--set '%s': expected NAME.PATH=VALUE, e.g. "
		                   "tls-version-mismatch.security.tls_max=1.3 or "
		                   "healthy-tls.security.protocols=[tls,rdp]",
		                   arg);
	o->n_sets++;
	return -1;
}

static int add_str(const char ***v, size_t *n, const char *s)
{
	const char **m = realloc(*v, (*n + 1) * sizeof(*m));
	if (!m)
		return EXIT_RUNTIME;
	*v = m;
	m[(*n)++] = s;
	return -1;
}

int cli_add_glob(struct cli *c, const char *glob)
{
	/* A comma-separated list is several patterns. */
	char *copy = strdup(glob);
	if (!copy)
		return EXIT_RUNTIME;
	for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (add_str(&c->select, &c->n_select, strdup(t)) >= 0)
			return EXIT_RUNTIME;
	free(copy);
	return -1;
}

int cli_add_tag(struct cli *c, const char *tag)
{
	return add_str(&c->tags, &c->n_tags, tag);
}

int cli_common_option(struct cli *c, int opt, const char *arg, const char *usage)
{
	switch (opt) {
	case OPT_SCENARIO_DIR:
		c->serve.scenarios_dir = arg;
		return -1;
	case OPT_SET:
		return add_set(c, arg);
	case OPT_OLD_SCENARIOS:
		return usage_error(c, "--scenarios is now --scenario-dir DIR (the catalog); "
		                      "scenarios are picked with --select GLOB");
	case OPT_HELP:
		fputs(usage, stdout);
		return EXIT_OK;
	default:
		return -2;
	}
}

int cli_bad_option(struct cli *c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";
	if (optopt && optopt < 256 && strchr(arg, '=') == NULL && arg[0] == '-' && arg[1] != '-')
		return usage_error(c, "option '-%c' is unknown or lacks its value", optopt);
	return usage_error(c, "option '%s' is unknown or lacks its value", arg);
}

int cli_check_port_base(const struct cli *c, int base, int max_offset)
{
	if (base > 0 && base + max_offset > 65535)
		return usage_error(
		        c,
		        "--port-base %d: the catalog's port offsets reach %d, so the last "
		        "scenario would need port %d (the base can be at most %d)",
		        base, max_offset, base + max_offset, 65535 - max_offset);
	return -1;
}

int cli_load_catalog(const struct cli *c, struct catalog *cat)
{
	const char *dir = c->serve.scenarios_dir;
	int problems = catalog_load_dir_with(dir, c->serve.sets, c->serve.n_sets, cat, stderr);
	int set_problems = cat->set_problems;
	if (!problems) {
		problems = catalog_check_faults(cat, stderr, &set_problems) +
		           catalog_check_network(cat, stderr, &set_problems) +
		           catalog_check_schedules(cat, stderr, &set_problems);
		if (problems)
			catalog_free(cat);
	}
	if (!problems)
		return EXIT_OK;
	if (set_problems == problems) {
		cli_say(c, "%d --set problem%s (see above)", problems, problems == 1 ? "" : "s");
		return EXIT_USAGE;
	}
	cli_say(c, "%d problem%s in the scenario catalog %s", problems, problems == 1 ? "" : "s",
	        dir);
	return EXIT_CATALOG;
}

int cli_selected(const struct cli *c, const struct scenario *s)
{
	int hit = c->n_select == 0;
	for (size_t i = 0; i < c->n_select && !hit; i++)
		hit = fnmatch(c->select[i], s->name, 0) == 0 ||
		      (s->alias && fnmatch(c->select[i], s->alias, 0) == 0) ||
		      (s->template_name && fnmatch(c->select[i], s->template_name, 0) == 0);
	for (size_t i = 0; i < c->n_tags && hit; i++) {
		int has = 0;
		for (char **t = s->tags; t && *t && !has; t++)
			has = strcmp(*t, c->tags[i]) == 0;
		hit = has;
	}
	return hit;
}

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

/* The runners are Python (client orchestration, XML and HTML reports are
 * its strengths): found beside the installed binary, else in the source
 * tree; the runner gets this binary's path and the catalog directory. */
int cli_exec_runner(const struct cli *c, const char *runner_name, const char *source_path)
{
	char exe[PATH_MAX], runner[PATH_MAX + 64];
	const char *env = getenv("RDPFAULT_RUNNER_DIR");
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;
	if (n <= 0) {
		cli_say(c, "cannot find this binary: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	exe[n] = '\0';
	if (env && *env) {
		snprintf(runner, sizeof(runner), "%s/%s", env, runner_name);
	} else {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", exe);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		snprintf(runner, sizeof(runner), "%s/../share/rdpfault/client-tests/%s", dir,
		         runner_name);
		if (stat(runner, &st) != 0)
			snprintf(runner, sizeof(runner), "%s", source_path);
	}
	if (stat(runner, &st) != 0) {
		cli_say(c, "runner '%s' not found (set RDPFAULT_RUNNER_DIR)", runner);
		return EXIT_RUNTIME;
	}
	char **argv = calloc((size_t)c->argc + 8, sizeof(*argv));
	if (!argv)
		return EXIT_RUNTIME;
	/* Debian's python3, which python3-yaml is installed for, before any
	 * other on PATH. */
	const char *python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
	int k = 0;
	argv[k++] = (char *)python;
	argv[k++] = runner;
	argv[k++] = "--rdpfault";
	argv[k++] = exe;
	for (int i = 0; i < c->argc; i++)
		argv[k++] = c->argv[i];
	argv[k] = NULL;
	fflush(NULL);
	execvp(python, argv);
	cli_say(c, "cannot run python3: %s (install python3 and python3-yaml: bash .ci/deps)",
	        strerror(errno));
	free(argv);
	return EXIT_RUNTIME;
}

int cli_harness_exit(int rc, int set_only)
{
	if (rc == -2)
		return set_only ? EXIT_USAGE : EXIT_CATALOG;
	return rc == -3 ? EXIT_USAGE : EXIT_RUNTIME;
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
	free(c->serve.network);
	free(c->api.host);
	free(c->api_token);
	free(c->api.scenario);
	for (size_t i = 0; i < c->n_select; i++)
		free((char *)c->select[i]);
	free(c->select);
	free(c->tags);
}
