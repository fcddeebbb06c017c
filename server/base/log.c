/* log.c — stderr logging: one line per message, "rdpfault: LEVEL: text".
 * A single fprintf per line keeps lines whole across threads. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>

static enum log_level current = LOG_INFO;

void log_set_level(enum log_level level)
{
	current = level;
}

enum log_level log_get_level(void)
{
	return current;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *names[] = {"error", "warning", "info", "debug"};
	char text[1024];
	va_list ap;

	if (level > current)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fprintf(stderr, "rdpfault: %s: %s\n", names[level], text);
}
