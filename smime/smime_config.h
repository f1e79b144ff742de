/* The smime module's settings, section [smime] of directgate.conf:
 *
 *   cipher          aes128-cbc (default) | aes256-cbc | aes128-gcm |
 *                   aes256-gcm: content encryption of outgoing mail (GCM
 *                   makes CMS AuthEnvelopedData, RFC 5083/5084)
 *   key_transport   pkcs1 (default) | oaep: RSA key transport outgoing
 *   oaep_digest     sha256 (default) | sha1: OAEP hash and MGF1 hash
 *   accept_sha1     no (default): accept SHA-1 signatures on receipt
 *                   (never produced)
 *   outer_subject   "" (default: keep the message's Subject on the outer,
 *                   unprotected header) or a neutral text to put there
 *   max_message     50M: the largest message sealed or opened
 *
 * smime_settings_from_config() turns the table into a struct that the
 * agent copies; smime_settings_default() gives the defaults without a
 * configuration (tests, tools). */
#ifndef SMIME_SMIME_CONFIG_H
#define SMIME_SMIME_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/err.h"

extern const struct config_def smime_config_defs[];

enum smime_cipher {
	SMIME_AES128_CBC = 0,
	SMIME_AES256_CBC,
	SMIME_AES128_GCM,
	SMIME_AES256_GCM,
};

enum smime_key_transport {
	SMIME_KT_PKCS1 = 0,
	SMIME_KT_OAEP,
};

enum smime_digest {
	SMIME_SHA1 = 0,
	SMIME_SHA256,
	SMIME_SHA384,
	SMIME_SHA512,
};

#define SMIME_SUBJECT_MAX 200

struct smime_settings {
	enum smime_cipher cipher;
	enum smime_key_transport key_transport;
	enum smime_digest oaep_digest; /* SHA1 or SHA256 */
	bool accept_sha1;
	char outer_subject[SMIME_SUBJECT_MAX]; /* "" keeps the original */
	size_t max_message;
};

/* The defaults listed above. */
void smime_settings_default(struct smime_settings *s);
/* Reads [smime] from cfg into s; -1 (ERR_CONFIG, naming the key) when a
 * value is not one of the allowed words. */
int smime_settings_from_config(const struct config *cfg,
    struct smime_settings *s, struct err *e);

/* Parse and name the enumerations ("aes128-cbc", "pkcs1", "sha256"...);
 * parsers return -1 for an unknown word. */
int smime_cipher_parse(const char *s, enum smime_cipher *c_r);
const char *smime_cipher_name(enum smime_cipher c);
int smime_key_transport_parse(const char *s, enum smime_key_transport *k_r);
const char *smime_key_transport_name(enum smime_key_transport k);
const char *smime_digest_name(enum smime_digest d);

#endif
