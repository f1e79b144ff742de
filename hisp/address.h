/* Addresses of the local domains: mailboxes (read over IMAP, may submit
 * over SMTP AUTH), and service addresses (the ADT intake, the notification
 * sender). Passwords are kept only as slow hashes (yescrypt via crypt(3),
 * which Dovecot verifies as {CRYPT}). */
#ifndef HISP_ADDRESS_H
#define HISP_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/store.h"

enum address_kind {
	ADDRESS_MAILBOX,
	ADDRESS_INTAKE, /* ADT intake: messages go to the HL7 intake */
	ADDRESS_NOTIFY, /* the notification agent's sender */
};

/* Adds an address of a local domain (the domain must exist). password may
 * be NULL (no login). -1: PERM for a malformed address, unknown domain or
 * an address already present; TEMP for store errors. */
int address_add(struct store *s, const char *address, enum address_kind kind,
    const char *password, struct err *e);
int address_remove(struct store *s, const char *address, struct err *e);
int address_set_password(struct store *s, const char *address,
    const char *password, struct err *e);
/* 1 when the address exists (its kind in *kind_r, may be NULL), 0 when not,
 * -1 on a store error. */
int address_lookup(struct store *s, const char *address,
    enum address_kind *kind_r, struct err *e);
/* 1 when address exists and password matches its hash, 0 when not (no
 * such address, no password set, or a mismatch: indistinguishable), -1 on
 * a store error. Takes as long for a missing address as for a wrong
 * password. */
int address_verify(struct store *s, const char *address,
    const char *password, struct err *e);

struct address_info {
	char *address;
	enum address_kind kind;
	bool has_password;
};
/* Every address (of one domain when domain is not NULL), sorted. */
int address_list(struct store *s, const char *domain,
    struct address_info **v_r, size_t *n_r, struct err *e);
void address_info_free(struct address_info **vp, size_t n);

const char *address_kind_name(enum address_kind k);
int address_kind_parse(const char *s, enum address_kind *k_r);
/* local@domain with a non-empty local part (dot-atom characters) and a
 * valid domain. */
bool address_valid(const char *address);

/* Writes a Dovecot passwd-file (user:{CRYPT}hash) of every mailbox with a
 * password, atomically (temp file, fsync, rename). */
int address_write_passwd_file(struct store *s, const char *path,
    struct err *e);

/* A slow hash of password (yescrypt), for tests and the store; the caller
 * frees. NULL on failure. */
char *address_hash_password(const char *password);

#endif
