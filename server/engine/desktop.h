/* desktop.h — the simple desktop an active session shows: a background,
 * a title bar and a window naming the scenario, sent as uncompressed
 * bitmap updates in the client's color depth (15, 16, 24 or 32 bpp), which
 * every client decodes. */
#ifndef RDPFAULT_DESKTOP_H
#define RDPFAULT_DESKTOP_H

#include <freerdp/peer.h>

/* Draws the whole desktop. Returns 0, or -1 when sending failed. */
int desktop_draw(freerdp_peer *client, const char *title, const char *subtitle);

#endif
