/* Inside certs/: key generation shared by keystore.c and demo_ca.c. */
#ifndef CERTS_KEYSTORE_PRIVATE_H
#define CERTS_KEYSTORE_PRIVATE_H

#include <openssl/evp.h>

#include "certs/keystore.h"

/* A new private key of the type; NULL on failure (OpenSSL error queue). */
EVP_PKEY *keystore_keygen(enum keystore_keytype type);

#endif
