/* Shared store helpers of the certs module. */
#ifndef CERTS_CERTS_STORE_H
#define CERTS_CERTS_STORE_H

#include <stdint.h>

#include "core/err.h"
#include "core/store.h"

/* A counter that every change to domains, keys, anchors, intermediates or
 * bundles moves on (meta key "certs_generation"). The daemon polls it and
 * reloads its struct keystore and struct validate_ctx when it changed.
 * 0 on success with *gen_r set (0 before any change), -1 on error. */
int certs_store_generation(struct store *s, int64_t *gen_r, struct err *e);
/* Moves the counter on (inside the caller's transaction, if any). */
int certs_store_bump(struct store *s, struct err *e);

#endif
