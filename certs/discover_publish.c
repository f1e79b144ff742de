#include "certs/discover_publish.h"

#include <stdbool.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/str.h"
#include "core/xmalloc.h"

/* DER of x in base64 on one line; the caller frees. */
static char *
cert_b64(X509 *x)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	char *b64;

	if (len <= 0)
		return NULL;
	b64 = xmalloc(((size_t)len + 2) / 3 * 4 + 1);
	EVP_EncodeBlock((unsigned char *)b64, der, len);
	OPENSSL_free(der);
	return b64;
}

/* The local part as a zone-file owner: labels split at dots, characters
 * the zone syntax treats specially escaped. */
static void
put_owner(struct buf *out, const char *local, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)local[i];

		if (c <= 0x20 || c >= 0x7f || strchr(";()\"\\$@", c) != NULL)
			buf_printf(out, "\\%03u", c);
		else
			buf_putc(out, c);
	}
}

static bool
owned_by(const struct keystore_entry *en, const char *domain)
{
	const char *at = strrchr(en->owner, '@');

	return strcasecmp(at != NULL ? at + 1 : en->owner, domain) == 0;
}

/* An RFC 4514 attribute value. */
static void
put_dn_value(struct buf *out, const char *v)
{
	for (const char *s = v; *s != '\0'; s++) {
		if (strchr(",+\"\\<>;=#", *s) != NULL)
			buf_putc(out, '\\');
		buf_putc(out, (uint8_t)*s);
	}
}

/* "b.example" -> "dc=b,dc=example" */
static void
put_dc(struct buf *out, const char *domain)
{
	const char *s = domain;

	while (*s != '\0') {
		const char *dot = strchr(s, '.');
		size_t n = dot != NULL ? (size_t)(dot - s) : strlen(s);

		buf_printf(out, "%sdc=%.*s", s == domain ? "" : ",", (int)n, s);
		s += n + (dot != NULL);
	}
}

static void
put_ldif_b64(struct buf *out, const char *attr, const char *b64)
{
	size_t len = strlen(b64), col;

	buf_printf(out, "%s:: ", attr);
	col = strlen(attr) + 4;
	for (size_t i = 0; i < len; i++) {
		if (col == 76) {
			buf_append_str(out, "\n ");
			col = 1;
		}
		buf_putc(out, (uint8_t)b64[i]);
		col++;
	}
	buf_putc(out, '\n');
}

int
discover_publish(const struct keystore *ks, const char *domain,
    unsigned what, uint32_t ttl, const char *base_dn, struct buf *out,
    struct err *e)
{
	size_t n = keystore_count(ks), dlen = strlen(domain);
	int count = 0;
	struct buf base;

	if (dlen == 0 || dlen > 253 || strchr(domain, '@') != NULL)
		return err_set(e, ERR_PERM, "not a domain: %s", domain);
	buf_init(&base, 4096);
	if (base_dn != NULL)
		buf_append_str(&base, base_dn);
	else
		put_dc(&base, domain);
	if (what & DISCOVER_PUBLISH_ZONE)
		buf_printf(out, "; CERT records for the zone of %s\n"
		    "$ORIGIN %s.\n", domain, domain);
	if (what & DISCOVER_PUBLISH_LDIF) {
		const char *first = domain;
		size_t fl = strcspn(domain, ".");

		if (what & DISCOVER_PUBLISH_ZONE)
			buf_append_str(out, "\n");
		buf_printf(out, "# LDIF for the LDAP server named by "
		    "_ldap._tcp.%s SRV\n", domain);
		if (base_dn == NULL)
			buf_printf(out, "dn: %s\nobjectClass: dcObject\n"
			    "objectClass: organization\ndc: %.*s\no: %s\n\n",
			    buf_cstr(&base), (int)fl, first, domain);
	}
	for (size_t i = 0; i < n; i++) {
		const struct keystore_entry *en = keystore_get0(ks, i);
		const char *at = strrchr(en->owner, '@');
		char *b64;

		if (!owned_by(en, domain))
			continue;
		count++;
		if (!(what & DISCOVER_PUBLISH_ZONE) ||
		    (b64 = cert_b64(en->cert)) == NULL)
			continue;
		if (at != NULL)
			put_owner(out, en->owner, (size_t)(at - en->owner));
		else
			buf_putc(out, '@');
		buf_printf(out, " %u IN CERT PKIX 0 0 %s\n", ttl, b64);
		free(b64);
	}
	/* LDIF: one entry per owner holding all its certificates. */
	for (size_t i = 0; (what & DISCOVER_PUBLISH_LDIF) && i < n; i++) {
		const struct keystore_entry *en = keystore_get0(ks, i);
		bool seen = false;

		if (!owned_by(en, domain))
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcasecmp(keystore_get0(ks, k)->owner,
			    en->owner) == 0;
		if (seen)
			continue;
		buf_append_str(out, "dn: mail=");
		put_dn_value(out, en->owner);
		buf_printf(out, ",%s\nobjectClass: inetOrgPerson\n"
		    "cn: %s\nsn: %s\nmail: %s\n", buf_cstr(&base), en->owner,
		    en->owner, en->owner);
		for (size_t k = i; k < n; k++) {
			const struct keystore_entry *x = keystore_get0(ks, k);
			char *b64;

			if (strcasecmp(x->owner, en->owner) != 0 ||
			    (b64 = cert_b64(x->cert)) == NULL)
				continue;
			put_ldif_b64(out, "userCertificate;binary", b64);
			free(b64);
		}
		buf_append_str(out, "\n");
	}
	buf_release(&base);
	if (out->len == out->max)
		return err_set(e, ERR_PERM, "output too large");
	return count;
}
