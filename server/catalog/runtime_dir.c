/* runtime_dir.c — the private directory for generated keys, certificates
 * and SAM files.
 *
 * Private keys land here, so the directory must be ours and closed to
 * group and others: a directory we make is 0700, and one the user names is
 * checked rather than trusted (no symlink, our uid, no group/other bits).
 * Cleanup removes only what sits directly inside, never following links. */

#include "catalog/runtime_dir.h"

#include "base/errbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_existing(const char *path, char *err, size_t errlen)
{
	struct stat st;
	uid_t me = geteuid();

	if (lstat(path, &st) < 0) {
		set_err(err, errlen, "runtime dir %s: lstat: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		set_err(err, errlen, "runtime dir %s is a symbolic link; refusing it", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		set_err(err, errlen, "runtime dir %s is not a directory", path);
		return -1;
	}
	if (st.st_uid != me) {
		set_err(err, errlen, "runtime dir %s is owned by uid %ld, not by us (uid %ld)",
		        path, (long)st.st_uid, (long)me);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		set_err(err, errlen,
		        "runtime dir %s has mode %04o: group/other may access it (want 0700)", path,
		        (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

static int open_wanted(const char *wanted, char *out, size_t n, int *created, char *err,
                       size_t errlen)
{
	if (strlen(wanted) >= n) {
		set_err(err, errlen, "runtime dir path %s is too long", wanted);
		return -1;
	}
	if (mkdir(wanted, 0700) == 0) {
		/* The umask may have taken bits we need; never adds any. */
		if (chmod(wanted, 0700) < 0) {
			set_err(err, errlen, "chmod 0700 %s: %s", wanted, strerror(errno));
			rmdir(wanted);
			return -1;
		}
		*created = 1;
	} else if (errno != EEXIST) {
		set_err(err, errlen, "creating runtime dir %s: %s", wanted, strerror(errno));
		return -1;
	} else if (check_existing(wanted, err, errlen) < 0) {
		return -1;
	}
	memcpy(out, wanted, strlen(wanted) + 1);
	return 0;
}

/* mkdtemp creates the directory 0700 under an unguessable name. */
static int make_temp(const char *base, char *out, size_t n, char *err, size_t errlen)
{
	int len = snprintf(out, n, "%s/rdpfault-XXXXXX", base);

	if (len < 0 || (size_t)len >= n) {
		set_err(err, errlen, "runtime dir path under %s is too long", base);
		return -1;
	}
	if (!mkdtemp(out)) {
		set_err(err, errlen, "mkdtemp %s/rdpfault-XXXXXX: %s", base, strerror(errno));
		return -1;
	}
	return 0;
}

int runtime_dir_open(const char *wanted, char *out, size_t n, int *created, char *err,
                     size_t errlen)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int made = 0;

	if (created)
		*created = 0;
	if (!out || n == 0) {
		set_err(err, errlen, "runtime_dir_open: no output buffer");
		return -1;
	}
	if (wanted) {
		if (open_wanted(wanted, out, n, &made, err, errlen) < 0)
			return -1;
		if (created)
			*created = made;
		return 0;
	}
	/* The XDG spec says a relative XDG_RUNTIME_DIR is to be ignored. A
	 * stale or foreign one (after su, say) falls back to /tmp. */
	if (!xdg || xdg[0] != '/' || stat(xdg, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    make_temp(xdg, out, n, err, errlen) < 0) {
		if (make_temp("/tmp", out, n, err, errlen) < 0)
			return -1;
	}
	if (created)
		*created = 1;
	return 0;
}

void runtime_dir_remove(const char *path)
{
	DIR *d;
	struct dirent *de;
	int dfd;

	if (!path)
		return;
	/* O_NOFOLLOW: if the directory was swapped for a link, touch nothing. */
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		/* A link is removed itself; its target is left alone. */
		if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
			unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
	/* Fails, harmlessly, if something we did not write is left inside. */
	rmdir(path);
}
