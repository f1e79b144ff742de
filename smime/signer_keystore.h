/* Filling a signer from a key store snapshot (certs/keystore.h): the
 * daemon's way to build the signer, once per snapshot. */
#ifndef SMIME_SIGNER_KEYSTORE_H
#define SMIME_SIGNER_KEYSTORE_H

#include "core/buf.h"
#include "core/err.h"
#include "smime/signer.h"

struct keystore;

/* Adds every entry of ks (key, certificate and chain, up-ref'd) to s under
 * the certificate's fingerprint (keystore_entry.fingerprint), so that the
 * key ids the key store hands out name keys of the signer. Only before s
 * is shared. ks is borrowed for the call. -1 with e set when an entry's
 * key does not match its certificate. */
int signer_keystore_add(struct signer *s, const struct keystore *ks,
    struct err *e);

/* Appends to out the DER certificate of every entry of ks that may
 * decrypt mail for address (keystore_find_decrypt: its address-bound
 * entries, then its domain's), each preceded by its length as 4 bytes
 * big-endian (the form of agent_certs_der). For sealing to local
 * recipients. Returns the count; -1 (ERR_PERM) when there is none. */
int signer_keystore_certs_der(const struct keystore *ks, const char *address,
    struct buf *out, struct err *e);

#endif
