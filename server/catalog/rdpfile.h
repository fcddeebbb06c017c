/* rdpfile.h — a scenario as an .rdp file for mstsc (Remote Desktop
 * Connection opens it with a double click). mstsc sends at most 9
 * characters of the user name as its cookie, and none with saved
 * credentials, so the file selects the scenario by its own port; the user
 * name is the scenario's account (NLA scenarios) or its alias. Everything
 * else stays mstsc's default, as the customer's was. */
#ifndef RDPFAULT_RDPFILE_H
#define RDPFAULT_RDPFILE_H

#include <stdio.h>

#include "catalog/scenario.h"

/* Writes the file for scenario s served on host:port. */
void rdpfile_write(const struct scenario *s, const char *host, int port, FILE *out);

#endif
