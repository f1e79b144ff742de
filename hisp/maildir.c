#include "hisp/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/str.h"
#include "core/xmalloc.h"

static atomic_uint maildir_seq;

int
maildir_opts_owner(struct maildir_opts *o, const char *owner, struct err *e)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	o->chown = 0;
	if (owner == NULL || owner[0] == '\0')
		return 0;
	if (getpwnam_r(owner, &pw, buf, sizeof(buf), &res) != 0 ||
	    res == NULL)
		return err_set(e, ERR_CONFIG, "[mailbox] owner: no user '%s'",
		    owner);
	o->uid = pw.pw_uid;
	o->gid = pw.pw_gid;
	o->chown = geteuid() == 0;
	return 0;
}

/* A path component from an address part: no '/', no leading '.', lower
 * case (addresses are case-insensitive here, as in the store). */
static int
maildir_component(char *dst, size_t size, const char *p, size_t n)
{
	if (n == 0 || n >= size || p[0] == '.')
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '/' || c < 0x21 || c >= 0x7f)
			return -1;
		dst[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	dst[n] = '\0';
	return 0;
}

static int
maildir_mkdir(const struct maildir_opts *o, const char *path, struct err *e)
{
	if (mkdir(path, 0770) != 0) {
		if (errno == EEXIST)
			return 0;
		return err_set(e, ERR_TEMP, "mkdir %s: %s", path,
		    strerror(errno));
	}
	if (o->chown && chown(path, o->uid, o->gid) != 0)
		return err_set(e, ERR_TEMP, "chown %s: %s", path,
		    strerror(errno));
	return 0;
}

char *
maildir_path(const struct maildir_opts *o, const char *address,
    struct err *e)
{
	const char *at = strrchr(address, '@');
	char local[256], domain[256], *dom_dir, *box, *sub;
	static const char *const subs[] = {"tmp", "new", "cur"};

	if (at == NULL ||
	    maildir_component(local, sizeof(local), address,
	    (size_t)(at - address)) != 0 ||
	    maildir_component(domain, sizeof(domain), at + 1,
	    strlen(at + 1)) != 0) {
		err_set(e, ERR_PERM, "address cannot name a mailbox");
		return NULL;
	}
	dom_dir = xasprintf("%s/%s", o->root, domain);
	box = xasprintf("%s/%s", dom_dir, local);
	if (maildir_mkdir(o, o->root, e) != 0 ||
	    maildir_mkdir(o, dom_dir, e) != 0 || maildir_mkdir(o, box, e) != 0)
		goto fail;
	for (size_t i = 0; i < 3; i++) {
		sub = xasprintf("%s/%s", box, subs[i]);
		if (maildir_mkdir(o, sub, e) != 0) {
			free(sub);
			goto fail;
		}
		free(sub);
	}
	free(dom_dir);
	return box;
fail:
	free(dom_dir);
	free(box);
	return NULL;
}

static int
fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* A file whose name holds "X<key>." in box/sub; its name, or NULL. */
static char *
maildir_find_key(const char *box, const char *sub, const char *key)
{
	char *dir = xasprintf("%s/%s", box, sub), *found = NULL, pat[80];
	struct dirent *de;
	DIR *d = NULL;
	int fd;

	str_fmt(pat, sizeof(pat), "X%s.", key);
	/* open + fdopendir rather than opendir: the same, but the descriptor
	 * is made by a call ThreadSanitizer sees, so that a number the loop
	 * thread used for a socket before is not taken for the same file. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && (d = fdopendir(fd)) == NULL)
		close(fd);
	if (d != NULL) {
		while (found == NULL && (de = readdir(d)) != NULL)
			if (strstr(de->d_name, pat) != NULL)
				found = xstrdup(de->d_name);
		closedir(d);
	}
	free(dir);
	return found;
}

static int maildir_write(const struct maildir_opts *o, const char *address,
    const char *key, const void *data, size_t len, char **name_r,
    struct err *e);

int
maildir_deliver(const struct maildir_opts *o, const char *address,
    const void *data, size_t len, char **name_r, struct err *e)
{
	return maildir_write(o, address, NULL, data, len, name_r, e);
}

int
maildir_deliver_once(const struct maildir_opts *o, const char *address,
    const char *key, bool check, const void *data, size_t len,
    char **name_r, struct err *e)
{
	char *box, *found;

	for (const char *k = key; *k != '\0'; k++)
		if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
		    (*k >= '0' && *k <= '9')) || k - key > 60)
			return err_set(e, ERR_INTERNAL, "bad Maildir key");
	if (check) {
		if ((box = maildir_path(o, address, e)) == NULL)
			return -1;
		found = maildir_find_key(box, "new", key);
		if (found == NULL)
			found = maildir_find_key(box, "cur", key);
		free(box);
		if (found != NULL) {
			if (name_r != NULL)
				*name_r = found;
			else
				free(found);
			return 0;
		}
	}
	return maildir_write(o, address, key, data, len, name_r, e);
}

static int
maildir_write(const struct maildir_opts *o, const char *address,
    const char *key, const void *data, size_t len, char **name_r,
    struct err *e)
{
	char host[256], name[512], *box, *tmp = NULL, *dst = NULL, *newdir;
	struct timeval tv;
	const uint8_t *p = data;
	size_t off = 0;
	int fd = -1, rc = -1;

	if (name_r != NULL)
		*name_r = NULL;
	if ((box = maildir_path(o, address, e)) == NULL)
		return -1;
	if (gethostname(host, sizeof(host)) != 0)
		str_lcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	for (char *h = host; *h != '\0'; h++)
		if (*h == '/' || *h == ':')
			*h = '_';
	gettimeofday(&tv, NULL);
	if (str_fmt(name, sizeof(name), "%lld.M%ldP%ldQ%u%s%s.%s,S=%zu",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
	    atomic_fetch_add(&maildir_seq, 1), key != NULL ? "X" : "",
	    key != NULL ? key : "", host, len) != 0) {
		err_set(e, ERR_INTERNAL, "maildir name too long");
		goto out;
	}
	tmp = xasprintf("%s/tmp/%s", box, name);
	dst = xasprintf("%s/new/%s", box, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
	if (fd < 0) {
		err_set(e, ERR_TEMP, "open %s: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err_set(e, ERR_TEMP, "write %s: %s", tmp,
			    strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if (o->chown && fchown(fd, o->uid, o->gid) != 0) {
		err_set(e, ERR_TEMP, "chown %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fsync(fd) != 0) {
		err_set(e, ERR_TEMP, "fsync %s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, dst) != 0) {
		err_set(e, ERR_TEMP, "rename into new/: %s", strerror(errno));
		/* Not left behind: each retry would add a copy. */
		unlink(tmp);
		goto out;
	}
	newdir = xasprintf("%s/new", box);
	rc = fsync_dir(newdir);
	free(newdir);
	if (rc != 0) {
		err_set(e, ERR_TEMP, "fsync new/: %s", strerror(errno));
		goto out;
	}
	if (name_r != NULL)
		*name_r = xstrdup(name);
	rc = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(dst);
	free(box);
	return rc;
}
