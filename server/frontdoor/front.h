/* front.h — the state the front door's parts share (listeners, admission,
 * selection), owned by the harness. Data only: each part includes this,
 * none includes the harness, so they stay below it. */
#ifndef RDPFAULT_FRONT_H
#define RDPFAULT_FRONT_H

#include <stddef.h>

#include "catalog/served.h"
#include "engine/engine.h"
#include "frontdoor/options.h"

struct listener;

struct front {
	struct event_base *base;
	struct engine engine;              /* handed to every connection's relay and peer */
	const struct harness_options *opt; /* the deadline already scaled */
	struct serving *serving;
	struct listener *listeners; /* never moved: connections and callbacks point in */
	size_t n_listeners, cap_listeners;
	int stopping;
	/* A scenario with a syn-drop limit became full (1) or has a slot
	 * again (0): its own listeners stop or start accepting (listener.c). */
	void (*scenario_full)(struct front *f, const struct served *s, int full, int at_start);
};

#endif
