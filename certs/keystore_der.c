#include "certs/keystore_der.h"

#include <openssl/x509.h>

int
keystore_cert_der(const struct keystore_entry *en, struct buf *out)
{
	unsigned char *der = NULL;
	int n = i2d_X509(en->cert, &der);
	int rc;

	if (n <= 0)
		return -1;
	rc = buf_append(out, der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}
