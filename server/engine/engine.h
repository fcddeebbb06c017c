/* engine.h — what the engine needs of the running harness, handed down to
 * it by the front door (the engine includes nothing above it): the event
 * loop, the server's time scale, RDP Standard Security's key. */
#ifndef RDPFAULT_ENGINE_H
#define RDPFAULT_ENGINE_H

struct event_base;
struct rdp_key_blob;

struct engine {
	struct event_base *base;
	double time_scale;
	const struct rdp_key_blob *rdp_key;
};

#endif
