/* cmd_runner.c — `rdpfault matrix`, `timeline` and `ctl`: Python
 * runners that parse their own options; this hands over to them with
 * this binary as the harness they start. */
#include "cli/cli.h"

static int pass_on(int argc, char **argv, struct cli *c)
{
	c->argc = argc - 1;
	c->argv = argv + 1;
	return -1;
}

static int run_matrix(struct cli *c)
{
	return cli_exec_runner(c, "matrix.py", RDPFAULT_SOURCE_RUNNERS "/matrix.py");
}

static int run_timeline(struct cli *c)
{
	return cli_exec_runner(c, "timeline.py", RDPFAULT_SOURCE_RUNNERS "/timeline.py");
}

static int run_ctl(struct cli *c)
{
	return cli_exec_runner(c, "ctl.py", RDPFAULT_SOURCE_RUNNERS "/ctl.py");
}

const struct command cmd_ctl = {
        .name = "ctl",
        .summary = "drive a running harness through its control API (docs/api.md)",
        .parse = pass_on,
        .run = run_ctl,
};

const struct command cmd_matrix = {
        .name = "matrix",
        .summary = "run clients against scenarios, compare with expectations, report",
        .parse = pass_on,
        .run = run_matrix,
};

const struct command cmd_timeline = {
        .name = "timeline",
        .summary = "draw an event log's connections on one time axis (text or HTML)",
        .parse = pass_on,
        .run = run_timeline,
};
