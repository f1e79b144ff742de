#include "certs/certs_util_private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>

#include "core/str.h"
#include "core/xmalloc.h"

void
certs_util_fingerprint(X509 *x, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32) {
		ERR_clear_error();
		memset(out, '0', 64);
		out[64] = '\0';
		return;
	}
	str_hex(out, md, 32);
}

void
certs_util_spki_fp(EVP_PKEY *k, char out[65])
{
	unsigned char *der = NULL;
	unsigned char md[32];
	unsigned int n = 0;
	int len = i2d_PUBKEY(k, &der);

	if (len <= 0 || EVP_Digest(der, (size_t)len, md, &n, EVP_sha256(),
	    NULL) != 1) {
		ERR_clear_error();
		memset(out, '0', 64);
		out[64] = '\0';
	} else
		str_hex(out, md, 32);
	OPENSSL_free(der);
}

char *
certs_util_name(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *r;
	long len;

	if (b == NULL)
		abort();
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)
	    < 0) {
		BIO_free(b);
		ERR_clear_error();
		return xstrdup("?");
	}
	len = BIO_get_mem_data(b, &p);
	r = xstrndup(p, len > 0 ? (size_t)len : 0);
	BIO_free(b);
	return r;
}

time_t
certs_util_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		return 0;
	}
	return timegm(&tm);
}

int
certs_util_der(X509 *x, struct buf *out)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	int r;

	if (len <= 0) {
		ERR_clear_error();
		return -1;
	}
	r = buf_append(out, der, (size_t)len);
	OPENSSL_free(der);
	return r;
}

X509 *
certs_util_x509_der(const void *p, size_t n)
{
	const unsigned char *q = p;
	X509 *x;

	if (n == 0 || n > LONG_MAX)
		return NULL;
	x = d2i_X509(NULL, &q, (long)n);
	if (x != NULL && q != (const unsigned char *)p + n) {
		X509_free(x);
		x = NULL;
	}
	if (x == NULL)
		ERR_clear_error();
	return x;
}

int
certs_util_read_der_concat(const void *p, size_t n, STACK_OF(X509) *out)
{
	const unsigned char *q = p, *end = q + n;
	int count = 0;

	while (q < end) {
		X509 *x = d2i_X509(NULL, &q, (long)(end - q));

		if (x == NULL) {
			ERR_clear_error();
			return -1;
		}
		if (!sk_X509_push(out, x))
			abort();
		count++;
	}
	return count;
}

/* Certificates of a PKCS#7: its certificates field, and when it carries
 * content that is itself a PKCS#7 (a signed bundle), that one's too. */
static int
pkcs7_certs(PKCS7 *p7, STACK_OF(X509) *out, int depth)
{
	STACK_OF(X509) *certs = NULL;
	int count = 0;

	if (p7 == NULL || depth > 2)
		return 0;
	if (PKCS7_type_is_signed(p7) && p7->d.sign != NULL) {
		PKCS7 *inner = p7->d.sign->contents;

		certs = p7->d.sign->cert;
		if (inner != NULL && PKCS7_type_is_data(inner) &&
		    inner->d.data != NULL && inner->d.data->length > 0) {
			const unsigned char *q = inner->d.data->data;
			PKCS7 *p7i = d2i_PKCS7(NULL, &q, inner->d.data->length);

			if (p7i != NULL) {
				count = pkcs7_certs(p7i, out, depth + 1);
				PKCS7_free(p7i);
			}
			ERR_clear_error();
			/* A signed bundle: the anchors are the content; the
			 * outer certificates are the signer's, not anchors. */
			if (count > 0)
				return count;
		}
	} else if (PKCS7_type_is_signedAndEnveloped(p7) &&
	    p7->d.signed_and_enveloped != NULL)
		certs = p7->d.signed_and_enveloped->cert;
	for (int i = 0; certs != NULL && i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (!X509_up_ref(x) || !sk_X509_push(out, x))
			abort();
		count++;
	}
	return count;
}

static bool
looks_pem(const void *data, size_t len)
{
	return memmem(data, len, "-----BEGIN ", 11) != NULL;
}

int
certs_util_read_certs(const void *data, size_t len, STACK_OF(X509) *out,
    struct err *e)
{
	int count = 0;

	if (len == 0 || len > INT_MAX)
		return err_set(e, ERR_PERM, "no certificate found (empty)");
	if (looks_pem(data, len)) {
		BIO *b = BIO_new_mem_buf(data, (int)len);
		char *name = NULL, *header = NULL;
		unsigned char *der = NULL;
		long dlen = 0;

		if (b == NULL)
			abort();
		while (PEM_read_bio(b, &name, &header, &der, &dlen) == 1) {
			const unsigned char *q = der;

			if (strcmp(name, PEM_STRING_X509) == 0 ||
			    strcmp(name, PEM_STRING_X509_OLD) == 0) {
				X509 *x = d2i_X509(NULL, &q, dlen);

				if (x != NULL) {
					if (!sk_X509_push(out, x))
						abort();
					count++;
				}
			} else if (strcmp(name, PEM_STRING_X509_TRUSTED) == 0) {
				X509 *x = d2i_X509_AUX(NULL, &q, dlen);

				if (x != NULL) {
					if (!sk_X509_push(out, x))
						abort();
					count++;
				}
			} else if (strcmp(name, PEM_STRING_PKCS7) == 0 ||
			    strcmp(name, "PKCS #7 SIGNED DATA") == 0 ||
			    strcmp(name, "CMS") == 0) {
				PKCS7 *p7 = d2i_PKCS7(NULL, &q, dlen);

				count += pkcs7_certs(p7, out, 0);
				PKCS7_free(p7);
			}
			/* Keys and anything else: skipped (wiped). */
			OPENSSL_free(name);
			OPENSSL_free(header);
			OPENSSL_clear_free(der, dlen > 0 ? (size_t)dlen : 0);
			name = header = NULL;
			der = NULL;
		}
		BIO_free(b);
		ERR_clear_error();
	} else {
		X509 *x = certs_util_x509_der(data, len);

		if (x != NULL) {
			if (!sk_X509_push(out, x))
				abort();
			count = 1;
		} else {
			const unsigned char *q = data;
			PKCS7 *p7 = d2i_PKCS7(NULL, &q, (long)len);

			count = pkcs7_certs(p7, out, 0);
			PKCS7_free(p7);
			ERR_clear_error();
		}
	}
	if (count == 0)
		return err_set(e, ERR_PERM, "no certificate found");
	return count;
}

int
certs_util_ossl_err(struct err *e, enum err_kind kind, const char *what)
{
	unsigned long code = ERR_peek_last_error();
	const char *reason = code != 0 ? ERR_reason_error_string(code) : NULL;

	ERR_clear_error();
	if (reason != NULL)
		return err_set(e, kind, "%s: %s", what, reason);
	return err_set(e, kind, "%s", what);
}

int
certs_util_mkdir_private(const char *dir, struct err *e)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return err_set(e, ERR_CONFIG, "cannot create %s: %s", dir,
		    strerror(errno));
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return err_set(e, ERR_CONFIG, "%s is not a directory", dir);
	if ((st.st_mode & 077) != 0 && chmod(dir, 0700) != 0)
		return err_set(e, ERR_CONFIG, "cannot chmod %s: %s", dir,
		    strerror(errno));
	return 0;
}

int
certs_util_write_file(const char *dir, const char *name, const void *p,
    size_t n, int mode, struct err *e)
{
	char *tmp, *path;
	const unsigned char *q = p;
	int fd, r = -1;

	if (certs_util_mkdir_private(dir, e) != 0)
		return -1;
	tmp = xasprintf("%s/.%s.tmp", dir, name);
	path = xasprintf("%s/%s", dir, name);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd < 0) {
		err_set(e, ERR_TEMP, "cannot create %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	(void)fchmod(fd, mode);
	while (n > 0) {
		ssize_t w = write(fd, q, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err_set(e, ERR_TEMP, "cannot write %s: %s", tmp,
			    strerror(errno));
			close(fd);
			(void)unlink(tmp);
			goto out;
		}
		q += w;
		n -= (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		err_set(e, ERR_TEMP, "cannot sync %s: %s", tmp,
		    strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		err_set(e, ERR_TEMP, "cannot rename to %s: %s", path,
		    strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	r = 0;
out:
	free(tmp);
	free(path);
	return r;
}

int
certs_util_write_key(const char *dir, const char *name, EVP_PKEY *key,
    struct err *e)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long len;
	int r;

	if (b == NULL)
		abort();
	if (PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1) {
		BIO_free(b);
		return certs_util_ossl_err(e, ERR_INTERNAL,
		    "cannot encode private key");
	}
	len = BIO_get_mem_data(b, &p);
	r = certs_util_write_file(dir, name, p, (size_t)len, 0600, e);
	OPENSSL_cleanse(p, (size_t)len);
	BIO_free(b);
	return r;
}

static int
no_password_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pw = u;
	size_t n;

	if (pw == NULL)
		return -1;
	n = strlen(pw);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, pw, n);
	return (int)n;
}

EVP_PKEY *
certs_util_read_key(const char *dir, const char *name, struct err *e)
{
	struct buf b;
	char *path = xasprintf("%s/%s", dir, name);
	EVP_PKEY *k = NULL;

	buf_init(&b, 1024 * 1024);
	if (certs_util_read_file(path, 1024 * 1024, &b, e) == 0) {
		BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);

		if (bio == NULL)
			abort();
		k = PEM_read_bio_PrivateKey(bio, NULL, no_password_cb, NULL);
		BIO_free(bio);
		if (k == NULL)
			certs_util_ossl_err(e, ERR_CONFIG,
			    "cannot read key file");
	}
	buf_release_cleanse(&b);
	free(path);
	return k;
}

int
certs_util_read_file(const char *path, size_t max, struct buf *out,
    struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t tmp[8192];

	if (fd < 0)
		return err_set(e, errno == ENOENT ? ERR_PERM : ERR_TEMP,
		    "cannot open %s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(e, ERR_TEMP, "cannot read %s: %s", path,
			    strerror(errno));
			close(fd);
			OPENSSL_cleanse(tmp, sizeof(tmp));
			return -1;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > max ||
		    buf_append(out, tmp, (size_t)n) != 0) {
			close(fd);
			OPENSSL_cleanse(tmp, sizeof(tmp));
			return err_set(e, ERR_PERM, "%s is larger than %zu bytes",
			    path, max);
		}
	}
	close(fd);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return 0;
}

char *
certs_util_lower(const char *s)
{
	return str_lower(xstrdup(s));
}

bool
certs_util_self_signed(X509 *x)
{
	return X509_self_signed(x, 1) == 1;
}

static pthread_once_t legacy_once = PTHREAD_ONCE_INIT;
static int legacy_status = -1;
static OSSL_PROVIDER *legacy_def, *legacy_leg;

static void
unload_legacy(void)
{
	OSSL_PROVIDER_unload(legacy_leg);
	OSSL_PROVIDER_unload(legacy_def);
}

static void
load_legacy(void)
{
	/* Loading any provider explicitly stops the default one from loading
	 * itself: load both. They stay loaded until the process exits. */
	legacy_def = OSSL_PROVIDER_load(NULL, "default");
	legacy_leg = OSSL_PROVIDER_load(NULL, "legacy");
	legacy_status = legacy_def != NULL && legacy_leg != NULL ? 0 : -1;
	ERR_clear_error();
	atexit(unload_legacy);
}

int
certs_util_load_legacy(void)
{
	pthread_once(&legacy_once, load_legacy);
	return legacy_status;
}
