/* Fuzz target: what certs/ldap_lookup.c keeps from an LDAP search result
 * (ldap_lookup_add_value), and the candidate details discover reads from
 * each kept value (certificate, names, fingerprint), without a server.
 *
 * Input: the entry's DN up to the first '\n' (none: no DN), then records
 * of one flag byte (bits 0-1: the attribute name, bit 2: found by
 * address), a 2-byte big-endian length and that many value bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "certs/certs_util_private.h"
#include "certs/ldap_lookup.h"

#define MAX_DN 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const attrs[] = {"userCertificate;binary",
    "userCertificate", "mail", "USERCERTIFICATE;BINARY"};

static void
details(const struct ldap_lookup_cert *c)
{
	X509 *x = certs_util_x509_der(c->der, c->len);
	char fp[65];

	if (x == NULL) {
		ERR_clear_error();
		return;
	}
	free(certs_util_name(X509_get_subject_name(x)));
	free(certs_util_name(X509_get_issuer_name(x)));
	certs_util_fingerprint(x, fp);
	if (strlen(fp) != 64)
		abort();
	(void)certs_util_time(X509_get0_notBefore(x));
	(void)certs_util_time(X509_get0_notAfter(x));
	X509_free(x);
	ERR_clear_error();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ldap_lookup_opts o = {0, 0, 4, 4096};
	struct ldap_lookup_result res;
	const uint8_t *nl = memchr(data, '\n', size);
	char dnbuf[MAX_DN];
	const char *dn = NULL;
	size_t pos = 0;

	memset(&res, 0, sizeof(res));
	if (nl != NULL) {
		size_t dl = (size_t)(nl - data);

		if (dl >= sizeof(dnbuf))
			dl = sizeof(dnbuf) - 1;
		memcpy(dnbuf, data, dl);
		dnbuf[dl] = '\0';
		dn = dnbuf;
		pos = (size_t)(nl - data) + 1;
	}
	while (pos + 3 <= size) {
		unsigned flag = data[pos];
		size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
		size_t before = res.ncerts;
		int rc;

		pos += 3;
		if (len > size - pos)
			len = size - pos;
		rc = ldap_lookup_add_value(&res, attrs[flag & 3], dn,
		    data + pos, len, (flag & 4) != 0, &o);
		if (rc == 1) {
			const struct ldap_lookup_cert *c =
			    &res.certs[res.ncerts - 1];

			if (res.ncerts != before + 1 || (flag & 3) == 2 ||
			    c->len != len || len == 0 ||
			    len > o.max_cert_size ||
			    memcmp(c->der, data + pos, len) != 0 ||
			    c->by_address != ((flag & 4) != 0) ||
			    strcmp(c->dn, dn != NULL ? dn : "") != 0)
				abort();
		} else if (rc != 0 || res.ncerts != before) {
			abort();
		}
		if (res.ncerts > o.max_certs)
			abort();
		pos += len;
	}
	for (size_t i = 0; i < res.ncerts; i++)
		details(&res.certs[i]);
	ldap_lookup_result_release(&res);
	return 0;
}
