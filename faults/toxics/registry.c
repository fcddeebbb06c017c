/* registry.c — every network condition type, in `show --network` order. */
#include <string.h>

#include "faults/toxics/toxic.h"

extern const struct toxic_type toxic_latency, toxic_bandwidth, toxic_slicer, toxic_limit_data,
        toxic_slow_close, toxic_timeout, toxic_reset_peer, toxic_blackhole, toxic_mtu_blackhole,
        toxic_loss;

const struct toxic_type *const toxic_types[] = {
        &toxic_latency,
        &toxic_bandwidth,
        &toxic_slicer,
        &toxic_limit_data,
        &toxic_slow_close,
        &toxic_timeout,
        &toxic_reset_peer,
        &toxic_blackhole,
        &toxic_mtu_blackhole,
        &toxic_loss,
        NULL,
};

const struct toxic_type *toxic_find(const char *name)
{
	for (size_t i = 0; toxic_types[i]; i++)
		if (!strcmp(toxic_types[i]->name, name))
			return toxic_types[i];
	return NULL;
}

int toxic_attr_index(const struct toxic_type *t, const char *name)
{
	for (size_t i = 0; i < t->n_attrs; i++)
		if (!strcmp(t->attrs[i].name, name))
			return (int)i;
	return -1;
}
