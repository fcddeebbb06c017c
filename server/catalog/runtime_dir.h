/* runtime_dir.h — the harness's private runtime directory (mode 0700),
 * where it writes the keys, certificates and SAM files it generates. It is
 * never inside the source tree. */
#ifndef RDPFAULT_RUNTIME_DIR_H
#define RDPFAULT_RUNTIME_DIR_H

#include <stddef.h>

/* Uses `wanted` when non-NULL (created 0700 if missing; refused when it is
 * not a directory owned by us, or is group/world accessible), else makes
 * $XDG_RUNTIME_DIR/rdpfault-XXXXXX or /tmp/rdpfault-XXXXXX. The path goes
 * to out[n]. Returns 0, or -1 with err set. `*created` says whether we made
 * it (and so should remove it at exit). */
int runtime_dir_open(const char *wanted, char *out, size_t n, int *created, char *err,
                     size_t errlen);

/* Removes the files we wrote and the directory when we created it. */
void runtime_dir_remove(const char *path);

#endif
