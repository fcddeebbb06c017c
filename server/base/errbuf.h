/* errbuf.h — the floor's one way to report an error: a printf-style
 * message into a caller's buffer, which may be NULL or empty. */
#ifndef RDPFAULT_ERRBUF_H
#define RDPFAULT_ERRBUF_H

#include <stdarg.h>
#include <stdio.h>

static inline void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#endif
