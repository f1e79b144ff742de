#include "smime/signer_keystore.h"

#include "certs/keystore.h"
#include "smime/signer_private.h"

#include <openssl/crypto.h>
#include <openssl/x509.h>

int
signer_keystore_add(struct signer *s, const struct keystore *ks,
    struct err *e)
{
	size_t n = keystore_count(ks);

	for (size_t i = 0; i < n; i++) {
		const struct keystore_entry *en = keystore_get0(ks, i);

		if (en == NULL || en->key == NULL || en->cert == NULL)
			continue;
		if (signer_add_x509(s, en->key, en->cert, en->chain, e) != 0)
			return -1;
	}
	return 0;
}

int
signer_keystore_certs_der(const struct keystore *ks, const char *address,
    struct buf *out, struct err *e)
{
	const struct keystore_entry *v[64];
	size_t n = keystore_find_decrypt(ks, address, v, 64);
	int count = 0;

	for (size_t i = 0; i < n && i < 64; i++) {
		unsigned char *d = NULL;
		int len = i2d_X509(v[i]->cert, &d);
		uint8_t h[4];

		if (len <= 0)
			continue;
		h[0] = (uint8_t)((uint32_t)len >> 24);
		h[1] = (uint8_t)((uint32_t)len >> 16);
		h[2] = (uint8_t)((uint32_t)len >> 8);
		h[3] = (uint8_t)len;
		if (buf_append(out, h, 4) != 0 ||
		    buf_append(out, d, (size_t)len) != 0) {
			OPENSSL_free(d);
			return err_set(e, ERR_PERM, "certificates too large");
		}
		OPENSSL_free(d);
		count++;
	}
	if (count == 0)
		return err_set(e, ERR_PERM, "no certificate for %s in the key "
		    "store", address);
	return count;
}
