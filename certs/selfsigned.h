/* A self-signed certificate for the SMTP server's STARTTLS, made by
 * `directgate init` (like a distribution's "snakeoil" certificate) so that
 * a new instance offers TLS at once; replace it with a real one. */
#ifndef CERTS_SELFSIGNED_H
#define CERTS_SELFSIGNED_H

#include "core/err.h"

/* Writes a new key (mode 0600) and a self-signed certificate for hostname
 * (CN and dNSName; ECDSA P-256, SHA-256, 10 years) as PEM files. */
int selfsigned_write(const char *cert_path, const char *key_path,
    const char *hostname, struct err *e);

#endif
