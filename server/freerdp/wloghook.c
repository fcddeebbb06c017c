/* wloghook.c — the WLog callback appender (see wloghook.h).
 *
 * WLog calls appenders with its global lock held, so the callback does only
 * quick work: parse one line and queue an event (events_emit never blocks
 * on I/O). Nothing here may ever wait. */
#include "freerdp/wloghook.h"

#include <string.h>

#include <winpr/wlog.h>

#include "base/log.h"

#define CONNECTION_TAG "com.freerdp.core.connection"

static int pass_info;
static void (*on_state)(const char *state_name);

static BOOL on_message(const wLogMessage *msg)
{
	const char *text = msg->TextString ? msg->TextString : "";
	const char *arrow = strstr(text, " --> ");

	if (arrow && msg->Level == WLOG_DEBUG) {
		if (on_state)
			on_state(arrow + 5);
		return TRUE;
	}
	if (msg->Level >= WLOG_ERROR)
		log_msg(LOG_DEBUG, "freerdp: %s", text); /* the event log says what failed */
	else if (msg->Level == WLOG_WARN || (pass_info && msg->Level == WLOG_INFO))
		log_msg(LOG_DEBUG, "freerdp: %s", text);
	return TRUE;
}

static BOOL on_data(const wLogMessage *msg)
{
	(void)msg;
	return TRUE;
}

int wloghook_install(int verbose, void (*state_cb)(const char *state_name))
{
	on_state = state_cb;
	wLog *root = WLog_GetRoot();
	wLogCallbacks cb = {0};
	pass_info = verbose;
	if (!root || !WLog_SetLogAppenderType(root, WLOG_APPENDER_CALLBACK))
		return -1;
	wLogAppender *app = WLog_GetLogAppender(root);
	cb.message = on_message;
	cb.data = on_data;
	cb.image = on_data;
	cb.package = on_data;
	if (!app || !WLog_ConfigureAppender(app, "callbacks", &cb))
		return -1;
	WLog_SetLogLevel(root, verbose ? WLOG_INFO : WLOG_WARN);
	wLog *conn = WLog_Get(CONNECTION_TAG);
	if (!conn || !WLog_SetLogLevel(conn, WLOG_DEBUG))
		return -1;
	return WLog_OpenAppender(root) ? 0 : -1;
}
