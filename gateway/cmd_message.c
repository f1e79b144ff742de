/* `directgate message seal|open`: the security agent as a command, for
 * administrators debugging a message. Keys, certificates and anchors come
 * from the instance (key store, trust store, [smime] settings) or from
 * files given on the command line (then no instance is needed).
 *
 * Exit status: 0 sealed / opened and trusted; 1 refused (permanent) or a
 * failure; 2 usage error; 3 refused for now (temporary: a CRL could not be
 * fetched). */
#include "gateway/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certs/keystore.h"
#include "certs/validate.h"
#include "core/buf.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "gateway/instance.h"
#include "smime/agent.h"
#include "smime/signer.h"
#include "smime/signer_keystore.h"
#include "smime/smime_config.h"

#define MSG_MAX_FILES 32

static int
read_all(const char *path, size_t max, struct buf *out, struct err *e)
{
	FILE *f = (path == NULL || strcmp(path, "-") == 0) ? stdin :
	    fopen(path, "rb");
	uint8_t chunk[65536];
	size_t n;

	if (f == NULL)
		return err_set(e, ERR_CONFIG, "%s: %s", path, strerror(errno));
	buf_init(out, max);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(out, chunk, n) != 0) {
			if (f != stdin)
				fclose(f);
			return err_set(e, ERR_PERM, "%s: larger than %zu bytes",
			    path ? path : "stdin", max);
		}
	if (ferror(f)) {
		if (f != stdin)
			fclose(f);
		return err_set(e, ERR_CONFIG, "%s: read error",
		    path ? path : "stdin");
	}
	if (f != stdin)
		fclose(f);
	return 0;
}

static int
write_all(const char *path, const struct buf *b, struct err *e)
{
	FILE *f = (path == NULL || strcmp(path, "-") == 0) ? stdout :
	    fopen(path, "wb");

	if (f == NULL)
		return err_set(e, ERR_CONFIG, "%s: %s", path, strerror(errno));
	if (fwrite(b->data, 1, b->len, f) != b->len || fflush(f) != 0) {
		if (f != stdout)
			fclose(f);
		return err_set(e, ERR_CONFIG, "%s: write error",
		    path ? path : "stdout");
	}
	if (f != stdout && fclose(f) != 0)
		return err_set(e, ERR_CONFIG, "%s: write error", path);
	return 0;
}

/* Options shared by seal and open. */
struct msg_opts {
	const char *dir, *from, *out, *file;
	const char *to[MSG_MAX_FILES];
	size_t n_to;
	const char *keys[MSG_MAX_FILES], *certs[MSG_MAX_FILES];
	size_t n_keys, n_certs;
	const char *rcpt_certs[MSG_MAX_FILES];
	size_t n_rcpt_certs;
	const char *anchors[MSG_MAX_FILES];
	size_t n_anchors;
	const char *mail_from;
	const char *rcpt_to[MSG_MAX_FILES];
	size_t n_rcpt_to;
	const char *cipher, *kt, *oaep, *crl, *subject;
	bool json, accept_sha1;
};

/* What a run holds: settings, signer, key store, trust. */
struct msg_env {
	struct instance *in;
	struct smime_settings set;
	struct signer *signer;
	struct keystore *ks;
	struct validate_ctx *trust;
	struct agent *agent;
};

static void
env_free(struct msg_env *env)
{
	agent_free(&env->agent);
	validate_ctx_free(&env->trust);
	keystore_free(&env->ks);
	signer_free(&env->signer);
	instance_free(&env->in);
}

static int
add_file_keys(const struct msg_opts *o, struct msg_env *env,
    char ids[][SIGNER_ID_MAX + 1], struct err *e)
{
	for (size_t i = 0; i < o->n_keys; i++) {
		struct buf k, c;
		int r;

		if (read_all(o->keys[i], 1 << 20, &k, e) != 0)
			return -1;
		if (read_all(o->certs[i], 1 << 20, &c, e) != 0) {
			buf_release_cleanse(&k);
			return -1;
		}
		r = signer_add_key(env->signer, k.data, k.len, c.data, c.len,
		    ids[i], e);
		buf_release_cleanse(&k);
		buf_release(&c);
		if (r != 0)
			return err_prefix(e, "%s", o->keys[i]);
	}
	return 0;
}

static int
env_open(const struct msg_opts *o, bool need_trust, struct msg_env *env,
    struct err *e)
{
	struct validate_opts vo;
	bool files = o->n_keys > 0;

	memset(env, 0, sizeof(*env));
	memset(&vo, 0, sizeof(vo));
	smime_settings_default(&env->set);
	env->signer = signer_new();
	if (instance_open(o->dir, &env->in, e) == 0) {
		if (smime_settings_from_config(env->in->cfg, &env->set, e) != 0)
			return -1;
		validate_opts_from_config(env->in->cfg, &vo);
	} else if (!files || (need_trust && o->n_anchors == 0)) {
		return err_prefix(e, "no instance (or give --key/--cert%s)",
		    need_trust ? " and --anchor" : "");
	}
	if (o->cipher && smime_cipher_parse(o->cipher, &env->set.cipher) != 0)
		return err_set(e, ERR_CONFIG, "bad --cipher '%s'", o->cipher);
	if (o->kt && smime_key_transport_parse(o->kt,
	    &env->set.key_transport) != 0)
		return err_set(e, ERR_CONFIG, "bad --key-transport '%s'", o->kt);
	if (o->oaep) {
		if (strcmp(o->oaep, "sha1") == 0)
			env->set.oaep_digest = SMIME_SHA1;
		else if (strcmp(o->oaep, "sha256") == 0)
			env->set.oaep_digest = SMIME_SHA256;
		else
			return err_set(e, ERR_CONFIG, "bad --oaep-digest '%s'",
			    o->oaep);
	}
	if (o->subject)
		str_lcpy(env->set.outer_subject, o->subject,
		    sizeof(env->set.outer_subject));
	if (o->accept_sha1)
		env->set.accept_sha1 = true;
	if (o->crl) {
		if (strcmp(o->crl, "temp") == 0)
			vo.crl_policy = VALIDATE_CRL_TEMP;
		else if (strcmp(o->crl, "fail") == 0)
			vo.crl_policy = VALIDATE_CRL_FAIL;
		else if (strcmp(o->crl, "ignore") == 0)
			vo.crl_policy = VALIDATE_CRL_IGNORE;
		else if (strcmp(o->crl, "off") == 0)
			vo.crl_policy = VALIDATE_CRL_OFF;
		else
			return err_set(e, ERR_CONFIG, "bad --crl '%s'", o->crl);
	}
	if (!files) {
		struct store *st = instance_store(env->in, e);

		if (st == NULL || keystore_load(st, config_path(env->in->cfg,
		    "core", "keys"), &env->ks, e) != 0 ||
		    signer_keystore_add(env->signer, env->ks, e) != 0)
			return -1;
	}
	if (need_trust) {
		if (o->n_anchors > 0) {
			const char *to = o->to[0], *at = strrchr(to, '@');

			env->trust = validate_ctx_new_empty(&vo);
			for (size_t i = 0; i < o->n_anchors; i++) {
				struct buf b;
				int r;

				if (read_all(o->anchors[i], 10 << 20, &b, e) !=
				    0)
					return -1;
				r = agent_trust_add_anchors(env->trust,
				    at ? at + 1 : to, 1, b.data, b.len, e);
				buf_release(&b);
				if (r < 0)
					return err_prefix(e, "%s",
					    o->anchors[i]);
			}
		} else {
			struct store *st = instance_store(env->in, e);

			if (st == NULL || validate_ctx_new(st, &vo,
			    &env->trust, e) != 0)
				return err_prefix(e, "trust store");
		}
	}
	env->agent = agent_new(&env->set);
	return 0;
}

static void
seal_help(void)
{
	printf("usage: directgate message seal --from ADDRESS --to ADDRESS... "
	    "[FILE]\n"
	    "         [--out FILE] [--json] [--dir DIR]\n"
	    "         [--key FILE --cert FILE] [--recip-cert FILE]...\n"
	    "         [--cipher aes128-cbc|aes256-cbc|aes128-gcm|aes256-gcm]\n"
	    "         [--key-transport pkcs1|oaep] [--oaep-digest sha256|sha1]"
	    "\n         [--subject TEXT]\n\n"
	    "Wraps the RFC 5322 message in FILE (or stdin) as message/rfc822, "
	    "signs it\n"
	    "with the sender's key (SHA-256, detached) and encrypts it to "
	    "every\n"
	    "recipient certificate; writes the sealed message to --out (or "
	    "stdout).\n\n"
	    "  --key, --cert     the signing key and its certificate (and "
	    "chain); default:\n"
	    "                    the instance's key for --from\n"
	    "  --recip-cert FILE certificates to encrypt to (PEM or DER; may "
	    "repeat);\n"
	    "                    default: the instance's certificates of each "
	    "--to\n"
	    "                    (local recipients; use `directgate resolve` "
	    "for others)\n"
	    "  --json            print a summary as JSON (needs --out)\n\n"
	    "Settings default to the instance's [smime] section.\n"
	    "Exit status: 0 sealed, 1 failure, 2 usage error.\n");
}

static void
open_help(void)
{
	printf("usage: directgate message open --to ADDRESS [FILE] [--out FILE]"
	    " [--json]\n"
	    "         [--dir DIR] [--key FILE --cert FILE]... [--anchor FILE]..."
	    "\n         [--mail-from ADDRESS --rcpt-to ADDRESS...] "
	    "[--accept-sha1]\n"
	    "         [--crl temp|fail|ignore|off]\n\n"
	    "Opens the Direct message in FILE (or stdin) as the receiving HISP "
	    "of --to\n"
	    "would: decrypts with any of its keys, verifies the signature, "
	    "validates the\n"
	    "signer against the incoming anchors of its domain, checks the "
	    "signer's\n"
	    "binding to From, unwraps, and checks the SMTP envelope when given."
	    " Prints\n"
	    "the verdict and its reason; writes the unwrapped message to --out."
	    "\n\n"
	    "  --key, --cert   a private key of the recipient and its "
	    "certificate\n"
	    "                  (pairs, may repeat); default: the instance's "
	    "keys\n"
	    "  --anchor FILE   incoming trust anchors (PEM or DER) for --to's "
	    "domain;\n"
	    "                  default: the instance's trust store\n\n"
	    "Exit status: 0 opened and trusted, 1 refused or failure, 2 usage "
	    "error,\n"
	    "3 refused for now (temporary, e.g. a CRL could not be fetched).\n");
}

static int
parse_opts(const char *name, int argc, char **argv, struct msg_opts *o,
    void (*help)(void))
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"out", required_argument, NULL, 'o'},
		{"json", no_argument, NULL, 'j'},
		{"key", required_argument, NULL, 'k'},
		{"cert", required_argument, NULL, 'c'},
		{"recip-cert", required_argument, NULL, 'r'},
		{"anchor", required_argument, NULL, 'a'},
		{"mail-from", required_argument, NULL, 'M'},
		{"rcpt-to", required_argument, NULL, 'R'},
		{"cipher", required_argument, NULL, 'C'},
		{"key-transport", required_argument, NULL, 'K'},
		{"oaep-digest", required_argument, NULL, 'O'},
		{"subject", required_argument, NULL, 'S'},
		{"accept-sha1", no_argument, NULL, '1'},
		{"crl", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->dir = cmd_global_dir();
	optind = 0; /* GNU: start afresh on this argv (permutation state) */
	while ((c = getopt_long(argc, argv, "d:f:t:o:jk:c:r:a:M:R:C:K:O:S:1L:h",
	    opts, NULL)) != -1) {
#define PUSH(arr, n) do { \
		if ((n) == MSG_MAX_FILES) \
			return cmd_usage_error(name, "too many " #arr); \
		(arr)[(n)++] = optarg; \
	} while (0)
		switch (c) {
		case 'd': o->dir = optarg; break;
		case 'f': o->from = optarg; break;
		case 't': PUSH(o->to, o->n_to); break;
		case 'o': o->out = optarg; break;
		case 'j': o->json = true; break;
		case 'k': PUSH(o->keys, o->n_keys); break;
		case 'c': PUSH(o->certs, o->n_certs); break;
		case 'r': PUSH(o->rcpt_certs, o->n_rcpt_certs); break;
		case 'a': PUSH(o->anchors, o->n_anchors); break;
		case 'M': o->mail_from = optarg; break;
		case 'R': PUSH(o->rcpt_to, o->n_rcpt_to); break;
		case 'C': o->cipher = optarg; break;
		case 'K': o->kt = optarg; break;
		case 'O': o->oaep = optarg; break;
		case 'S': o->subject = optarg; break;
		case '1': o->accept_sha1 = true; break;
		case 'L': o->crl = optarg; break;
		case 'h': help(); return 0;
		default: return cmd_usage_error(name, "bad option");
		}
#undef PUSH
	}
	if (optind + 1 < argc)
		return cmd_usage_error(name, "at most one FILE expected");
	o->file = optind < argc ? argv[optind] : NULL;
	if (o->n_keys != o->n_certs)
		return cmd_usage_error(name, "give --key and --cert in pairs");
	return -1; /* go on */
}

static int
cmd_message_seal(int argc, char **argv)
{
	struct msg_opts o;
	struct msg_env env;
	struct buf msg, out, ders;
	struct agent_blob blobs[256];
	size_t nblobs = 0;
	char ids[MSG_MAX_FILES][SIGNER_ID_MAX + 1];
	const char *key_id = NULL;
	struct agent_seal_req req;
	struct err e = {0};
	int rc;

	if ((rc = parse_opts("message seal", argc, argv, &o, seal_help)) >= 0)
		return rc;
	if (o.from == NULL || o.n_to == 0)
		return cmd_usage_error("message seal", "--from and --to are "
		    "required");
	if (o.n_keys > 1)
		return cmd_usage_error("message seal", "one --key to sign");
	if (o.json && o.out == NULL)
		return cmd_usage_error("message seal", "--json needs --out");
	buf_init(&msg, 0);
	buf_init(&out, BUF_UNLIMITED);
	buf_init(&ders, BUF_UNLIMITED);
	if (env_open(&o, false, &env, &e) != 0)
		goto fail;
	if (read_all(o.file, env.set.max_message, &msg, &e) != 0)
		goto fail;
	if (o.n_keys == 1) {
		if (add_file_keys(&o, &env, ids, &e) != 0)
			goto fail;
		key_id = ids[0];
	} else {
		const struct keystore_entry *en = keystore_find_signer(env.ks,
		    o.from, time(NULL));

		if (en == NULL) {
			err_set(&e, ERR_PERM, "no valid signing key for %s in "
			    "the key store", o.from);
			goto fail;
		}
		key_id = en->fingerprint;
	}
	/* Recipient certificates: files, else the key store (local). */
	for (size_t i = 0; i < o.n_rcpt_certs; i++) {
		struct buf b;
		int r;

		if (read_all(o.rcpt_certs[i], 10 << 20, &b, &e) != 0)
			goto fail;
		r = agent_certs_der(b.data, b.len, &ders, &e);
		buf_release(&b);
		if (r < 0) {
			err_prefix(&e, "%s", o.rcpt_certs[i]);
			goto fail;
		}
	}
	if (o.n_rcpt_certs == 0) {
		for (size_t i = 0; i < o.n_to; i++) {
			if (signer_keystore_certs_der(env.ks, o.to[i], &ders,
			    &e) < 0)
				goto fail;
		}
	}
	for (size_t off = 0; off + 4 <= ders.len && nblobs < 256;) {
		size_t len = (size_t)ders.data[off] << 24 |
		    (size_t)ders.data[off + 1] << 16 |
		    (size_t)ders.data[off + 2] << 8 | ders.data[off + 3];

		blobs[nblobs].data = ders.data + off + 4;
		blobs[nblobs].len = len;
		nblobs++;
		off += 4 + len;
	}
	memset(&req, 0, sizeof(req));
	req.msg = msg.data;
	req.msg_len = msg.len;
	req.from = o.from;
	req.signer = env.signer;
	req.key_id = key_id;
	req.rcpt_certs = blobs;
	req.n_rcpt_certs = nblobs;
	if (agent_seal(env.agent, &req, &out, &e) != 0)
		goto fail;
	if (write_all(o.out, &out, &e) != 0)
		goto fail;
	if (o.json) {
		printf("{\"status\": \"sealed\", \"from\": ");
		cmd_json_str(stdout, o.from);
		printf(", \"recipient_certificates\": %zu, \"cipher\": \"%s\", "
		    "\"key_transport\": \"%s\", \"signer\": \"%s\", "
		    "\"bytes\": %zu}\n", nblobs,
		    smime_cipher_name(env.set.cipher),
		    smime_key_transport_name(env.set.key_transport), key_id,
		    out.len);
	}
	rc = 0;
	goto done;
fail:
	rc = cmd_fail("message seal: %s", e.msg);
done:
	buf_release_cleanse(&msg);
	buf_release(&out);
	buf_release(&ders);
	env_free(&env);
	return rc;
}

static int
cmd_message_open(int argc, char **argv)
{
	struct msg_opts o;
	struct msg_env env;
	struct buf msg;
	char ids[MSG_MAX_FILES][SIGNER_ID_MAX + 1];
	const char *idp[MSG_MAX_FILES];
	size_t n_ids = 0;
	struct agent_open_req req;
	struct agent_open_result res;
	struct err e = {0};
	int rc;

	memset(&res, 0, sizeof(res));
	if ((rc = parse_opts("message open", argc, argv, &o, open_help)) >= 0)
		return rc;
	if (o.n_to != 1)
		return cmd_usage_error("message open", "one --to is required");
	buf_init(&msg, 0);
	if (env_open(&o, true, &env, &e) != 0)
		goto fail;
	if (read_all(o.file, env.set.max_message, &msg, &e) != 0)
		goto fail;
	if (o.n_keys > 0) {
		if (add_file_keys(&o, &env, ids, &e) != 0)
			goto fail;
		for (size_t i = 0; i < o.n_keys; i++)
			idp[n_ids++] = ids[i];
	} else {
		const struct keystore_entry *v[MSG_MAX_FILES];
		size_t n = keystore_find_decrypt(env.ks, o.to[0], v,
		    MSG_MAX_FILES);

		for (size_t i = 0; i < n && i < MSG_MAX_FILES; i++)
			idp[n_ids++] = v[i]->fingerprint;
	}
	memset(&req, 0, sizeof(req));
	req.msg = msg.data;
	req.msg_len = msg.len;
	req.rcpt = o.to[0];
	req.signer = env.signer;
	req.key_ids = idp;
	req.n_keys = n_ids;
	req.trust = env.trust;
	req.mail_from = o.mail_from;
	req.rcpt_to = o.rcpt_to;
	req.n_rcpt_to = o.n_rcpt_to;
	req.now = time(NULL);
	if (agent_open(env.agent, &req, &res, &e) != 0)
		goto fail;
	if (res.reason == AGENT_OK && o.out != NULL &&
	    write_all(o.out, &res.content, &e) != 0)
		goto fail;
	if (o.json) {
		printf("{\"verdict\": \"%s\", \"reason\": \"%s\", \"detail\": ",
		    res.reason == AGENT_OK ? "accepted" : "rejected",
		    agent_reason_name(res.reason));
		cmd_json_str(stdout, res.detail);
		printf(", \"temporary\": %s, \"wrapped\": %s, \"from\": ",
		    res.temporary ? "true" : "false",
		    res.wrapped ? "true" : "false");
		cmd_json_str(stdout, res.from);
		printf(", \"message_id\": ");
		cmd_json_str(stdout, res.message_id);
		printf(", \"signer_fingerprint\": \"%s\", \"binding\": \"%s\", "
		    "\"digest\": \"%s\", \"key\": \"%s\", \"bytes\": %zu}\n",
		    res.signer_fp, res.binding, res.digest, res.key_id,
		    res.content.len);
	} else {
		printf("verdict: %s\nreason: %s\n",
		    res.reason == AGENT_OK ? "accepted" : "rejected",
		    agent_reason_name(res.reason));
		if (res.detail[0])
			printf("detail: %s%s\n", res.detail,
			    res.temporary ? " (temporary)" : "");
		if (res.from[0])
			printf("from: %s\n", res.from);
		if (res.signer_fp[0])
			printf("signer: %s%s%s\n", res.signer_fp,
			    res.binding[0] ? " bound by " : "", res.binding);
		if (res.key_id[0])
			printf("decrypted with: %s\n", res.key_id);
		if (res.reason == AGENT_OK)
			printf("message: %zu bytes%s%s\n", res.content.len,
			    res.wrapped ? " (message/rfc822)" : "",
			    o.out ? "" : " (give --out FILE to keep it)");
	}
	rc = res.reason == AGENT_OK ? 0 : res.temporary ? 3 : 1;
	goto done;
fail:
	rc = cmd_fail("message open: %s", e.msg);
done:
	agent_open_result_release(&res);
	buf_release_cleanse(&msg);
	env_free(&env);
	return rc;
}

int
cmd_message(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "seal") == 0)
		return cmd_message_seal(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "open") == 0)
		return cmd_message_open(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "status") == 0)
		return cmd_message_status(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return cmd_message_list(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		printf("usage: directgate message seal|open|status|list ...\n\n"
		    "  seal   wrap, sign and encrypt a message (see "
		    "`message seal --help`)\n"
		    "  open   decrypt, verify and check a message (see "
		    "`message open --help`)\n"
		    "  status delivery state of a sent message, per recipient\n"
		    "  list   tracked deliveries, by state\n");
		return 0;
	}
	return cmd_usage_error("message", "seal, open, status or list "
	    "expected");
}
