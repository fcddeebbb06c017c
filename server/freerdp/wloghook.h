/* wloghook.h — FreeRDP's log (WLog) routed through the harness: FreeRDP
 * warnings and errors go to the human log, and the DEBUG line FreeRDP
 * writes on every server state transition ("X --> Y" from
 * com.freerdp.core.connection) becomes a phase event. */
#ifndef RDPFAULT_WLOGHOOK_H
#define RDPFAULT_WLOGHOOK_H

/* verbose: also pass FreeRDP's INFO lines to the human log. Every server
 * state transition's target state ("CONNECTION_STATE_ACTIVE") goes to
 * state_cb, inside WLog's callback under its global lock: it must not
 * block, nor call FreeRDP. */
int wloghook_install(int verbose, void (*state_cb)(const char *state_name));

#endif
