/* rdpfile.c — a scenario as an .rdp file (see rdpfile.h). */
#include "catalog/rdpfile.h"

#include <string.h>

void rdpfile_write(const struct scenario *s, const char *host, int port, FILE *out)
{
	const char *user = s->account.user ? s->account.user : s->alias ? s->alias : s->name;
	int v6 = strchr(host, ':') != NULL;
	fprintf(out, v6 ? "full address:s:[%s]:%d\r\n" : "full address:s:%s:%d\r\n", host, port);
	fprintf(out, "username:s:%s%s%s\r\n",
	        s->account.user && s->account.domain && *s->account.domain ? s->account.domain : "",
	        s->account.user && s->account.domain && *s->account.domain ? "\\" : "", user);
	/* 2: warn about a certificate mstsc cannot verify, and let the user
	 * go on: the cert-* scenarios are that dialog. */
	fputs("authentication level:i:2\r\n", out);
	fputs("prompt for credentials:i:1\r\n", out);
	fputs("screen mode id:i:1\r\n", out);
	fputs("desktopwidth:i:1024\r\n", out);
	fputs("desktopheight:i:768\r\n", out);
}
