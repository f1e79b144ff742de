/* `directgate cert import|list|remove|generate|verify`: the key store and
 * a certificate check for administrators. */
#include "gateway/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certs/demo_ca.h"
#include "certs/keystore.h"
#include "certs/validate.h"
#include "core/buf.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "gateway/instance.h"

#define CERT_FILE_MAX (16u * 1024 * 1024)

/* Exit statuses of `cert verify`. */
#define VERIFY_EXIT_REJECTED 1
#define VERIFY_EXIT_TEMP 3

static void
help(void)
{
	printf("usage: directgate cert import FILE... [--address A | --domain D]\n"
	    "                            [--password-file F | --password-env V]"
	    " [--intermediate]\n"
	    "       directgate cert list [--address A | --domain D]"
	    " [--intermediates] [--json]\n"
	    "       directgate cert remove FINGERPRINT|#ID\n"
	    "       directgate cert generate (--address A | --domain D)"
	    " [--key-type T] [--out CSR] [--demo]\n"
	    "       directgate cert verify FILE --domain D --direction in|out\n"
	    "                            [--address A | --expect X]"
	    " [--purpose sign|encrypt|any]\n"
	    "                            [--untrusted FILE] [--at UNIXTIME]"
	    " [--json]\n\n"
	    "The key store: private keys and certificates of local addresses\n"
	    "(bound by subjectAltName rfc822Name) and domains (dNSName).\n"
	    "import reads PEM, DER and PKCS#12 (also legacy-encrypted); the\n"
	    "owner defaults to the certificate's subjectAltName. Key files\n"
	    "are written with mode 0600 to the key directory.\n"
	    "generate makes a key and prints a CSR (import the signed\n"
	    "certificate later), or with --demo a certificate from the\n"
	    "instance's demo CA (never for production).\n"
	    "verify validates a certificate as the gateway would for local\n"
	    "domain D: exit 0 valid, 1 rejected, 3 temporary failure (CRL or\n"
	    "AIA server unreachable), 2 usage.\n\n"
	    "  --dir DIR            the instance directory\n"
	    "  --key-type T         rsa2048 (default), rsa3072, rsa4096, p256,"
	    " p384\n"
	    "  --password-file F    PKCS#12 / encrypted key password (first"
	    " line)\n"
	    "  --password-env V     the password from environment variable V\n"
	    "  --intermediates      list also imported intermediates\n"
	    "  --json               print JSON (list, verify)\n");
}

static int
read_file(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "rb");
	char tmp[8192];
	size_t n;

	if (f == NULL)
		return cmd_fail("cannot open %s: %s", path, strerror(errno));
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (buf_append(out, tmp, n) != 0) {
			fclose(f);
			OPENSSL_cleanse(tmp, sizeof(tmp));
			return cmd_fail("%s is too large", path);
		}
	OPENSSL_cleanse(tmp, sizeof(tmp));
	if (ferror(f)) {
		fclose(f);
		return cmd_fail("cannot read %s", path);
	}
	fclose(f);
	return 0;
}

static void
print_time(time_t t)
{
	struct tm tm;
	char s[32];

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%d", &tm) == 0)
		printf("-");
	else
		printf("%s", s);
}

struct cert_args {
	const char *dir;
	const char *address;
	const char *domain;
	const char *expect;
	const char *password_file;
	const char *password_env;
	const char *key_type;
	const char *out;
	const char *direction;
	const char *purpose;
	const char *untrusted;
	int64_t at;
	bool intermediate;
	bool json;
	bool demo;
};

static char *
get_password(const struct cert_args *a)
{
	if (a->password_env != NULL) {
		const char *v = getenv(a->password_env);

		if (v == NULL) {
			cmd_fail("environment variable %s is not set",
			    a->password_env);
			return NULL;
		}
		return xstrdup(v);
	}
	if (a->password_file != NULL) {
		struct buf b;
		char *p, *nl;

		buf_init(&b, 4096);
		if (read_file(a->password_file, &b) != 0) {
			buf_release_cleanse(&b);
			return NULL;
		}
		p = (char *)buf_steal(&b, NULL);
		nl = strpbrk(p, "\r\n");
		if (nl != NULL)
			*nl = '\0';
		return p;
	}
	return NULL;
}

static void
free_password(char *p)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, strlen(p));
		free(p);
	}
}

static int
do_import(struct instance *in, struct store *s, const struct cert_args *a,
    int n, char **files)
{
	struct keystore_import_opts o = {0};
	struct keystore_input *inputs = xcalloc((size_t)n, sizeof(*inputs));
	struct buf *bufs = xcalloc((size_t)n, sizeof(*bufs));
	char fp[KEYSTORE_FP_LEN + 1];
	char *pw = NULL;
	struct err e;
	int rc = 1;

	if ((a->password_env != NULL || a->password_file != NULL) &&
	    (pw = get_password(a)) == NULL)
		goto out;
	for (int i = 0; i < n; i++) {
		buf_init(&bufs[i], CERT_FILE_MAX);
		if (read_file(files[i], &bufs[i]) != 0)
			goto out;
		inputs[i].data = bufs[i].data;
		inputs[i].len = bufs[i].len;
		inputs[i].name = files[i];
	}
	o.owner = a->address != NULL ? a->address : a->domain;
	o.password = pw;
	o.intermediate = a->intermediate;
	if (keystore_import(s, config_path(in->cfg, "core", "keys"), inputs,
	    (size_t)n, &o, fp, &e) != 0) {
		cmd_fail("%s", e.msg);
		goto out;
	}
	printf("imported %s %s\n", a->intermediate ? "intermediate" :
	    "certificate", fp);
	rc = 0;
out:
	for (int i = 0; i < n; i++)
		buf_release_cleanse(&bufs[i]);
	free(bufs);
	free(inputs);
	free_password(pw);
	return rc;
}

static int
do_list(struct store *s, const struct cert_args *a)
{
	const char *owner = a->address != NULL ? a->address : a->domain;
	struct keystore_info *v;
	size_t n;
	struct err e;

	if (keystore_list(s, owner, a->intermediate, &v, &n, &e) != 0)
		return cmd_fail("%s", e.msg);
	if (a->json) {
		printf("[");
		for (size_t i = 0; i < n; i++) {
			printf("%s{\"id\":%lld,\"kind\":\"%s\",\"owner\":",
			    i ? "," : "", (long long)v[i].id,
			    v[i].intermediate ? "intermediate" :
			    keystore_kind_name(v[i].kind));
			if (v[i].owner != NULL)
				cmd_json_str(stdout, v[i].owner);
			else
				printf("null");
			printf(",\"fingerprint\":");
			if (v[i].fingerprint != NULL)
				cmd_json_str(stdout, v[i].fingerprint);
			else
				printf("null");
			printf(",\"subject\":");
			if (v[i].subject != NULL)
				cmd_json_str(stdout, v[i].subject);
			else
				printf("null");
			printf(",\"issuer\":");
			if (v[i].issuer != NULL)
				cmd_json_str(stdout, v[i].issuer);
			else
				printf("null");
			printf(",\"not_before\":%lld,\"not_after\":%lld,"
			    "\"has_key\":%s,\"pending\":%s}",
			    (long long)v[i].not_before,
			    (long long)v[i].not_after,
			    v[i].has_key ? "true" : "false",
			    v[i].pending ? "true" : "false");
		}
		printf("]\n");
	} else {
		for (size_t i = 0; i < n; i++) {
			printf("#%-4lld %-12s %-32s ", (long long)v[i].id,
			    v[i].intermediate ? "intermediate" :
			    keystore_kind_name(v[i].kind),
			    v[i].owner != NULL ? v[i].owner : "-");
			if (v[i].pending)
				printf("(pending: key generated, certificate"
				    " not imported)\n");
			else {
				printf("%.16s ", v[i].fingerprint);
				print_time(v[i].not_before);
				printf("..");
				print_time(v[i].not_after);
				printf("  %s\n", v[i].subject != NULL ?
				    v[i].subject : "");
			}
		}
	}
	keystore_info_free(&v, n);
	return 0;
}

static int
do_generate(struct instance *in, struct store *s, const struct cert_args *a)
{
	const char *owner = a->address != NULL ? a->address : a->domain;
	const char *keys = config_path(in->cfg, "core", "keys");
	enum keystore_keytype type = KEYSTORE_RSA2048;
	struct err e;
	struct buf csr;
	int rc = 1;

	if (a->key_type != NULL && keystore_keytype_parse(a->key_type, &type)
	    != 0)
		return cmd_usage_error("cert", "unknown --key-type %s",
		    a->key_type);
	if (a->demo) {
		char fp[KEYSTORE_FP_LEN + 1];

		if (a->key_type != NULL && type != KEYSTORE_RSA2048)
			return cmd_usage_error("cert", "--demo makes RSA-2048"
			    " keys only");
		if (demo_ca_issue(s, keys, owner, fp, &e) != 0)
			return cmd_fail("%s", e.msg);
		printf("issued demo certificate %s for %s\n", fp, owner);
		return 0;
	}
	buf_init(&csr, 64 * 1024);
	if (keystore_generate(s, keys, owner, type, &csr, &e) != 0) {
		cmd_fail("%s", e.msg);
		goto out;
	}
	if (a->out != NULL) {
		FILE *f = fopen(a->out, "wx");

		if (f == NULL) {
			cmd_fail("cannot create %s: %s", a->out,
			    strerror(errno));
			goto out;
		}
		if (fwrite(csr.data, 1, csr.len, f) != csr.len ||
		    fclose(f) != 0) {
			cmd_fail("cannot write %s", a->out);
			goto out;
		}
		fprintf(stderr, "key generated for %s; CSR written to %s\n",
		    owner, a->out);
	} else
		fwrite(csr.data, 1, csr.len, stdout);
	rc = 0;
out:
	buf_release(&csr);
	return rc;
}

static int
do_verify(struct instance *in, struct store *s, const struct cert_args *a,
    const char *file)
{
	STACK_OF(X509) *certs = sk_X509_new_null(), *untrusted = NULL;
	enum validate_direction dir;
	struct validate_opts o;
	struct validate_ctx *ctx = NULL;
	struct validate_req rq;
	struct validate_result res;
	struct buf b;
	struct err e;
	int rc = 1;

	buf_init(&b, CERT_FILE_MAX);
	if (certs == NULL)
		abort();
	if (a->domain == NULL || a->direction == NULL) {
		rc = cmd_usage_error("cert", "verify needs --domain and"
		    " --direction");
		goto out;
	}
	if (validate_direction_parse(a->direction, &dir) != 0) {
		rc = cmd_usage_error("cert", "--direction is in or out");
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.purpose = dir == VALIDATE_OUTGOING ? VALIDATE_ENCRYPT :
	    VALIDATE_SIGN;
	if (a->purpose != NULL) {
		if (strcmp(a->purpose, "sign") == 0)
			rq.purpose = VALIDATE_SIGN;
		else if (strcmp(a->purpose, "encrypt") == 0)
			rq.purpose = VALIDATE_ENCRYPT;
		else if (strcmp(a->purpose, "any") == 0)
			rq.purpose = VALIDATE_ANY;
		else {
			rc = cmd_usage_error("cert", "--purpose is sign, encrypt"
			    " or any");
			goto out;
		}
	}
	if (read_file(file, &b) != 0)
		goto out;
	/* The leaf is the first certificate; any others are untrusted
	 * intermediates, as they would arrive in a message. */
	if (memmem(b.data, b.len, "-----BEGIN", 10) != NULL) {
		BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);
		X509 *x;

		while (bio != NULL && (x = PEM_read_bio_X509(bio, NULL, NULL,
		    NULL)) != NULL)
			sk_X509_push(certs, x);
		BIO_free(bio);
	} else {
		const unsigned char *q = b.data;
		X509 *x = d2i_X509(NULL, &q, (long)b.len);

		if (x != NULL)
			sk_X509_push(certs, x);
	}
	if (sk_X509_num(certs) == 0) {
		cmd_fail("%s: no certificate (PEM or DER)", file);
		goto out;
	}
	untrusted = sk_X509_new_null();
	for (int i = 1; i < sk_X509_num(certs); i++)
		sk_X509_push(untrusted, sk_X509_value(certs, i));
	if (a->untrusted != NULL) {
		struct buf u;
		BIO *bio;
		X509 *x;

		buf_init(&u, CERT_FILE_MAX);
		if (read_file(a->untrusted, &u) != 0) {
			buf_release(&u);
			goto out;
		}
		bio = BIO_new_mem_buf(u.data, (int)u.len);
		while (bio != NULL && (x = PEM_read_bio_X509(bio, NULL, NULL,
		    NULL)) != NULL) {
			sk_X509_push(certs, x); /* owned by certs */
			sk_X509_push(untrusted, x);
		}
		BIO_free(bio);
		buf_release(&u);
	}
	validate_opts_from_config(in->cfg, &o);
	if (validate_ctx_new(s, &o, &ctx, &e) != 0) {
		cmd_fail("%s", e.msg);
		goto out;
	}
	rq.leaf = sk_X509_value(certs, 0);
	rq.untrusted = untrusted;
	rq.local_domain = a->domain;
	rq.direction = dir;
	rq.expected = a->address != NULL ? a->address : a->expect;
	rq.now = a->at != 0 ? (time_t)a->at : time(NULL);
	if (validate_cert(ctx, &rq, &res, &e) != 0) {
		cmd_fail("%s", e.msg);
		goto out;
	}
	if (a->json) {
		printf("{\"valid\":%s,\"reason\":\"%s\",\"temporary\":%s,"
		    "\"binding\":\"%s\",\"depth\":%d,\"message\":",
		    res.reason == VALIDATE_OK ? "true" : "false",
		    validate_reason_name(res.reason),
		    res.temporary ? "true" : "false",
		    res.binding == VALIDATE_BOUND_ADDRESS ? "address" :
		    res.binding == VALIDATE_BOUND_DOMAIN ? "domain" : "none",
		    res.depth);
		cmd_json_str(stdout, res.msg);
		printf("}\n");
	} else
		printf("%s%s: %s\n", validate_reason_name(res.reason),
		    res.temporary ? " (temporary)" : "", res.msg);
	rc = res.reason == VALIDATE_OK ? 0 : res.temporary ?
	    VERIFY_EXIT_TEMP : VERIFY_EXIT_REJECTED;
out:
	validate_ctx_free(&ctx);
	sk_X509_free(untrusted);
	sk_X509_pop_free(certs, X509_free);
	buf_release(&b);
	return rc;
}

int
cmd_cert(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"address", required_argument, NULL, 'a'},
		{"domain", required_argument, NULL, 'D'},
		{"expect", required_argument, NULL, 'x'},
		{"password-file", required_argument, NULL, 'p'},
		{"password-env", required_argument, NULL, 'P'},
		{"intermediate", no_argument, NULL, 'i'},
		{"intermediates", no_argument, NULL, 'i'},
		{"key-type", required_argument, NULL, 'k'},
		{"out", required_argument, NULL, 'o'},
		{"demo", no_argument, NULL, 'm'},
		{"direction", required_argument, NULL, 'r'},
		{"purpose", required_argument, NULL, 'u'},
		{"untrusted", required_argument, NULL, 'U'},
		{"at", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cert_args a;
	struct instance *in = NULL;
	const char *action;
	struct store *s;
	struct err e;
	int c, rc = 1;

	memset(&a, 0, sizeof(a));
	a.dir = cmd_global_dir();
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		help();
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-')
		return cmd_usage_error("cert", "import, list, remove, generate"
		    " or verify?");
	action = argv[1];
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "d:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			a.dir = optarg;
			break;
		case 'a':
			a.address = optarg;
			break;
		case 'D':
			a.domain = optarg;
			break;
		case 'x':
			a.expect = optarg;
			break;
		case 'p':
			a.password_file = optarg;
			break;
		case 'P':
			a.password_env = optarg;
			break;
		case 'i':
			a.intermediate = true;
			break;
		case 'k':
			a.key_type = optarg;
			break;
		case 'o':
			a.out = optarg;
			break;
		case 'm':
			a.demo = true;
			break;
		case 'r':
			a.direction = optarg;
			break;
		case 'u':
			a.purpose = optarg;
			break;
		case 'U':
			a.untrusted = optarg;
			break;
		case 't':
			if (str_to_i64(optarg, 1, INT64_MAX, &a.at) != 0)
				return cmd_usage_error("cert", "--at takes a"
				    " Unix time");
			break;
		case 'j':
			a.json = true;
			break;
		case 'h':
			help();
			return 0;
		default:
			return cmd_usage_error("cert", "bad option");
		}
	}
	if (strcmp(action, "import") == 0) {
		if (optind >= argc)
			return cmd_usage_error("cert", "give the files to"
			    " import");
		if (a.address != NULL && a.domain != NULL)
			return cmd_usage_error("cert", "--address or --domain,"
			    " not both");
	} else if (strcmp(action, "remove") == 0) {
		if (argc - optind != 1)
			return cmd_usage_error("cert", "remove takes"
			    " FINGERPRINT or #ID");
	} else if (strcmp(action, "generate") == 0) {
		if ((a.address == NULL) == (a.domain == NULL))
			return cmd_usage_error("cert", "generate needs"
			    " --address or --domain");
		if (optind != argc)
			return cmd_usage_error("cert", "unexpected argument"
			    " '%s'", argv[optind]);
	} else if (strcmp(action, "verify") == 0) {
		if (argc - optind != 1)
			return cmd_usage_error("cert", "verify takes one"
			    " certificate file");
	} else if (strcmp(action, "list") != 0)
		return cmd_usage_error("cert", "unknown action '%s'", action);

	if (instance_open(a.dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	if ((s = instance_store(in, &e)) == NULL) {
		cmd_fail("store: %s", e.msg);
		goto out;
	}
	if (strcmp(action, "import") == 0)
		rc = do_import(in, s, &a, argc - optind, argv + optind);
	else if (strcmp(action, "list") == 0)
		rc = do_list(s, &a);
	else if (strcmp(action, "generate") == 0)
		rc = do_generate(in, s, &a);
	else if (strcmp(action, "verify") == 0)
		rc = do_verify(in, s, &a, argv[optind]);
	else {
		if (keystore_remove(s, config_path(in->cfg, "core", "keys"),
		    argv[optind], &e) != 0)
			cmd_fail("%s", e.msg);
		else {
			printf("removed %s\n", argv[optind]);
			rc = 0;
		}
	}
out:
	instance_free(&in);
	return rc;
}
