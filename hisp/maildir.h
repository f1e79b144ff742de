/* Maildir delivery: <root>/<domain>/<local>/{tmp,new,cur}. A message is
 * written in tmp/, fsynced, renamed into new/, and new/ is fsynced, so that
 * once maildir_deliver returns 0 the message survives a crash (and a
 * reader such as Dovecot never sees a partial file). */
#ifndef HISP_MAILDIR_H
#define HISP_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"

struct maildir_opts {
	const char *root;  /* the Maildir root ([core] mail) */
	uid_t uid;         /* owner of what is created, when chown is set */
	gid_t gid;
	int chown;         /* 1: chown new directories and files */
};

/* The Maildir of address (created with tmp/new/cur when missing); the
 * caller frees. NULL (PERM) for an address that cannot name a path. */
char *maildir_path(const struct maildir_opts *o, const char *address,
    struct err *e);
/* Delivers data to address's Maildir; the new file's base name goes to
 * name_r (may be NULL; the caller frees). TEMP on I/O errors. */
int maildir_deliver(const struct maildir_opts *o, const char *address,
    const void *data, size_t len, char **name_r, struct err *e);
/* The same, exactly once per key ([A-Za-z0-9], e.g. a queue id and a
 * recipient's number): the key goes into the file name, and when check is
 * set (a retry) new/ and cur/ are searched first; a message already there
 * counts as delivered (*name_r is its name). */
int maildir_deliver_once(const struct maildir_opts *o, const char *address,
    const char *key, bool check, const void *data, size_t len,
    char **name_r, struct err *e);

/* Resolves [mailbox] owner ("" or a user name) into o->uid/gid/chown. */
int maildir_opts_owner(struct maildir_opts *o, const char *owner,
    struct err *e);

#endif
