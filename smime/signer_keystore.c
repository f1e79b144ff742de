#include "smime/signer_keystore.h"

#include "certs/keystore.h"
#include "smime/signer_private.h"

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
