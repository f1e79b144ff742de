/* What the HISP needs to seal and open messages, loaded from the store as
 * one snapshot: the key store, the signer holding the private keys, the
 * validation context (anchors, bundles, intermediates) and the security
 * agent. Snapshots are reference-counted and immutable, so a worker keeps
 * the one it started with while the daemon swaps in a new one after the
 * administrator changes policy (store meta 'policy_gen', bumped by
 * triggers on every policy table). */
#ifndef HISP_TRUST_H
#define HISP_TRUST_H

#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "core/store.h"

struct keystore;
struct signer;
struct validate_ctx;
struct agent;

struct trust {
	struct keystore *ks;
	struct signer *signer;
	struct validate_ctx *vctx;
	struct agent *agent;
	int64_t generation;
};

/* Loads a snapshot (key files under [core] keys). -1 with e set. */
int trust_load(struct store *s, const struct config *cfg,
    struct trust **t_r, struct err *e);
/* Thread-safe. */
struct trust *trust_ref(struct trust *t);
void trust_free(struct trust **tp);
/* The policy generation in the store; -1 on error. */
int64_t trust_generation(struct store *s, struct err *e);

/* The daemon's current snapshot, reloaded on the loop thread when the
 * generation moves (checked every interval_ms, and on SIGHUP). */
struct loop;
struct trust_holder;
int trust_holder_new(struct loop *l, const char *db_path,
    const struct config *cfg, int64_t interval_ms,
    struct trust_holder **h_r, struct err *e);
/* A reference to the current snapshot (release with trust_free). Any
 * thread. */
struct trust *trust_holder_get(struct trust_holder *h);
/* Only after the loop ended. */
void trust_holder_free(struct trust_holder **hp);

#endif
