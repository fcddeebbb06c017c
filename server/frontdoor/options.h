/* options.h — what `rdpfault serve` is told (cli/cli.c fills it): the
 * listeners, the catalog and its overrides, the files it writes, the
 * server's timers. Data only. */
#ifndef RDPFAULT_OPTIONS_H
#define RDPFAULT_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

struct sc_override;
struct net_cond;

struct listen_spec {
	char *host; /* numeric address */
	int port;
	char *scenario; /* default scenario name, NULL for the harness default */
};

struct harness_options {
	const char *scenarios_dir;
	struct listen_spec *listens;
	size_t n_listens;
	int port_base; /* -1: no per-scenario listeners */
	const char *port_base_host;
	const char *default_scenario;
	const char *events_path;  /* NULL: none */
	const char *runtime_dir;  /* NULL: a private temporary one */
	const char *ca_dir;       /* test-CA mode: sign certificates with the CA kept here */
	struct sc_override *sets; /* --set NAME.PATH=VALUE */
	size_t n_sets;
	int handshake_timeout_ms; /* pre-active deadline per connection */
	int backlog;
	double time_scale;        /* the server's own waits (faults' after_ms and
	                             duration_ms, the deadline) times this; 1 */
	const char *address_base; /* IPv4: one listener per scenario on ADDR+offset:3389 */
	const char *ready_file;   /* written once listening, removed at exit; NULL: none */
	const char *ports_file;   /* the listeners' real ports as JSON, the same; NULL: none */
	int keepalive_idle_s;     /* TCP keep-alive on accepted sockets; 0: off */
	int keepalive_interval_s;
	int keepalive_count;
	struct net_cond *network; /* --network: stacked on every scenario's own */
	size_t n_network;
	uint64_t seed;        /* --seed: every connection's draws derive from it */
	size_t network_queue; /* --network-queue: bytes a conditioned direction may hold */
};

#endif
