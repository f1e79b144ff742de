#include "smime/smime_config.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/str.h"

const struct config_def smime_config_defs[] = {
	{"smime", "cipher", CONFIG_STR, "aes128-cbc", 0, 0,
	    "content cipher of outgoing mail: aes128-cbc, aes256-cbc, "
	    "aes128-gcm, aes256-gcm"},
	{"smime", "key_transport", CONFIG_STR, "pkcs1", 0, 0,
	    "RSA key transport of outgoing mail: pkcs1 or oaep"},
	{"smime", "oaep_digest", CONFIG_STR, "sha256", 0, 0,
	    "hash of RSA-OAEP (and its MGF1) when key_transport is oaep: "
	    "sha256 or sha1"},
	{"smime", "accept_sha1", CONFIG_BOOL, "no", 0, 0,
	    "accept SHA-1 signatures on incoming mail (never produced)"},
	{"smime", "outer_subject", CONFIG_STR, "", 0, 0,
	    "Subject of the outer, unencrypted header; empty keeps the "
	    "message's own"},
	{"smime", "max_message", CONFIG_SIZE, "50M", 1024,
	    (int64_t)1 << 32, "largest message sealed or opened"},
	CONFIG_DEF_END,
};

static const char *const cipher_names[] = {
	"aes128-cbc", "aes256-cbc", "aes128-gcm", "aes256-gcm",
};

int
smime_cipher_parse(const char *s, enum smime_cipher *c_r)
{
	for (size_t i = 0; i < sizeof(cipher_names) / sizeof(*cipher_names);
	    i++) {
		if (strcasecmp(s, cipher_names[i]) == 0) {
			*c_r = (enum smime_cipher)i;
			return 0;
		}
	}
	return -1;
}

const char *
smime_cipher_name(enum smime_cipher c)
{
	if ((size_t)c < sizeof(cipher_names) / sizeof(*cipher_names))
		return cipher_names[c];
	return "?";
}

int
smime_key_transport_parse(const char *s, enum smime_key_transport *k_r)
{
	if (strcasecmp(s, "pkcs1") == 0 || strcasecmp(s, "rsa") == 0)
		*k_r = SMIME_KT_PKCS1;
	else if (strcasecmp(s, "oaep") == 0 || strcasecmp(s, "rsa-oaep") == 0)
		*k_r = SMIME_KT_OAEP;
	else
		return -1;
	return 0;
}

const char *
smime_key_transport_name(enum smime_key_transport k)
{
	return k == SMIME_KT_OAEP ? "oaep" : "pkcs1";
}

const char *
smime_digest_name(enum smime_digest d)
{
	switch (d) {
	case SMIME_SHA1:
		return "sha1";
	case SMIME_SHA256:
		return "sha256";
	case SMIME_SHA384:
		return "sha384";
	case SMIME_SHA512:
		return "sha512";
	}
	return "?";
}

void
smime_settings_default(struct smime_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->cipher = SMIME_AES128_CBC;
	s->key_transport = SMIME_KT_PKCS1;
	s->oaep_digest = SMIME_SHA256;
	s->accept_sha1 = false;
	s->outer_subject[0] = '\0';
	s->max_message = (size_t)50 << 20;
}

int
smime_settings_from_config(const struct config *cfg, struct smime_settings *s,
    struct err *e)
{
	const char *v;

	smime_settings_default(s);
	v = config_str(cfg, "smime", "cipher");
	if (smime_cipher_parse(v, &s->cipher) != 0)
		return err_set(e, ERR_CONFIG, "[smime] cipher: unknown cipher "
		    "'%s' (aes128-cbc, aes256-cbc, aes128-gcm, aes256-gcm)", v);
	v = config_str(cfg, "smime", "key_transport");
	if (smime_key_transport_parse(v, &s->key_transport) != 0)
		return err_set(e, ERR_CONFIG, "[smime] key_transport: '%s' is "
		    "neither pkcs1 nor oaep", v);
	v = config_str(cfg, "smime", "oaep_digest");
	if (strcasecmp(v, "sha256") == 0)
		s->oaep_digest = SMIME_SHA256;
	else if (strcasecmp(v, "sha1") == 0)
		s->oaep_digest = SMIME_SHA1;
	else
		return err_set(e, ERR_CONFIG, "[smime] oaep_digest: '%s' is "
		    "neither sha256 nor sha1", v);
	s->accept_sha1 = config_bool(cfg, "smime", "accept_sha1");
	v = config_str(cfg, "smime", "outer_subject");
	if (str_lcpy(s->outer_subject, v, sizeof(s->outer_subject)) >=
	    sizeof(s->outer_subject))
		return err_set(e, ERR_CONFIG, "[smime] outer_subject: longer "
		    "than %d characters", SMIME_SUBJECT_MAX - 1);
	for (const char *p = s->outer_subject; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return err_set(e, ERR_CONFIG, "[smime] outer_subject: "
			    "printable ASCII only");
	s->max_message = (size_t)config_int(cfg, "smime", "max_message");
	return 0;
}
