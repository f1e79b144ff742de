/* DER of key store certificates, for callers that must not see OpenSSL
 * types (hisp/ seals messages to local recipients with them). */
#ifndef CERTS_KEYSTORE_DER_H
#define CERTS_KEYSTORE_DER_H

#include "certs/keystore.h"
#include "core/buf.h"

/* Appends the DER of en's certificate to out. 0, or -1 when out is full or
 * the certificate cannot be encoded. */
int keystore_cert_der(const struct keystore_entry *en, struct buf *out);

#endif
