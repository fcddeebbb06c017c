/* page.h — the catalog page the control API serves at GET /: every
 * scenario with its port, what it reproduces, the commands to try it and
 * each client's expected outcome, and the live connections (refreshed from
 * GET /connections). Self-contained HTML: no file, no network fetch. */
#ifndef RDPFAULT_PAGE_H
#define RDPFAULT_PAGE_H

#include <event2/buffer.h>

struct harness;

/* Appends the page to out. */
void page_catalog(const struct harness *h, const char *api_address, struct evbuffer *out);

#endif
