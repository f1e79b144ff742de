/* Local domains: the domains this gateway serves. Keys, certificates,
 * anchors and bundle attachments belong to a domain; removing a domain
 * removes them (and the domain's key files). Names are stored lower-case. */
#ifndef CERTS_DOMAIN_H
#define CERTS_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"
#include "core/store.h"

/* Adds a domain. -1 (PERM) for a malformed name or one already present. */
int domain_add(struct store *s, const char *name, struct err *e);
/* Removes a domain with its keys (files in key_dir too), anchors and
 * bundle attachments. -1 (PERM) when there is no such domain. */
int domain_remove(struct store *s, const char *key_dir, const char *name,
    struct err *e);
/* 1 when name is a local domain, 0 when not, -1 on a store error. */
int domain_exists(struct store *s, const char *name, struct err *e);

struct domain_info {
	char *name;
	time_t created;
	int64_t n_keys;    /* key store entries (address and domain) */
	int64_t n_anchors; /* single anchors */
	int64_t n_bundles; /* attached bundles */
};
/* Every domain, sorted by name. Free with domain_info_free. */
int domain_list(struct store *s, struct domain_info **v_r, size_t *n_r,
    struct err *e);
void domain_info_free(struct domain_info **vp, size_t n);

/* A syntactically valid DNS name (LDH labels, 1..63 each, total <= 253,
 * at least two labels). */
bool domain_name_valid(const char *name);
/* A key owner: a valid domain name, or an address whose local part is
 * 1..64 characters of RFC 5322 dot-atom text and whose domain is valid. */
bool domain_owner_valid(const char *owner);
/* The domain of an address ("a@B.example" -> "B.example"), borrowed from
 * address; NULL when there is no '@' or nothing after it. */
const char *domain_of(const char *address);

#endif
