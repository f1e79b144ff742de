/* Fuzz target for the incoming path of the security agent. The first
 * byte chooses the layer: 0 (even) the message as received (MIME, base64,
 * CMS EnvelopedData, decryption with bob's key); 1 (odd) the content as
 * decrypted (multipart/signed or signed-data, CMS SignedData, signature,
 * unwrap, header parsing, validation against a fixed anchor, tamper
 * check), which a fuzzer could not reach through real encryption. Every
 * input must give a verdict; nothing may crash or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/validate.h"
#include "smime/agent.h"
#include "smime/agent_private.h"
#include "smime/signer.h"
#include "tests/fuzz/smime/fuzz_open_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct agent *agent;
static struct signer *signer;
static struct validate_ctx *trust;
static char bob_id[SIGNER_ID_MAX + 1];

static void
init(void)
{
	struct smime_settings set;
	struct validate_opts o;
	struct err e;

	smime_settings_default(&set);
	set.max_message = 1 << 20;
	agent = agent_new(&set);
	signer = signer_new();
	if (signer_add_key(signer, (const uint8_t *)fuzz_bob_key,
	    strlen(fuzz_bob_key), (const uint8_t *)fuzz_bob_pem,
	    strlen(fuzz_bob_pem), bob_id, &e) != 0)
		abort();
	memset(&o, 0, sizeof(o));
	o.crl_policy = VALIDATE_CRL_OFF;
	o.aia_max_fetches = -1; /* no network */
	trust = validate_ctx_new_empty(&o);
	if (agent_trust_add_anchors(trust, "b.test", 1,
	    (const uint8_t *)fuzz_ca_pem, strlen(fuzz_ca_pem), &e) != 1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *ids[1] = {bob_id};
	const char *rcpts[1] = {"bob@b.test"};
	struct agent_open_req req;
	struct agent_open_result res;
	struct err e;

	if (agent == NULL)
		init();
	if (size < 1)
		return 0;
	memset(&req, 0, sizeof(req));
	req.rcpt = "bob@b.test";
	req.signer = signer;
	req.key_ids = ids;
	req.n_keys = 1;
	req.trust = trust;
	req.mail_from = "alice@a.test";
	req.rcpt_to = rcpts;
	req.n_rcpt_to = 1;
	req.now = 1800000000; /* 2027-01-15: within the keys' validity */
	if ((data[0] & 1) == 0) {
		req.msg = data + 1;
		req.msg_len = size - 1;
		(void)agent_open(agent, &req, &res, &e);
	} else {
		static const char outer[] = "From: alice@a.test\r\n"
		    "To: bob@b.test\r\n\r\n";

		req.msg = (const uint8_t *)outer;
		req.msg_len = sizeof(outer) - 1;
		(void)agent_open_plain(agent, &req, data + 1, size - 1, &res,
		    &e);
	}
	if (getenv("DG_FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "open: %s: %s\n", agent_reason_name(res.reason),
		    res.detail);
	if (res.reason != AGENT_OK && res.detail[0] == '\0')
		abort(); /* every refusal names its reason */
	agent_open_result_release(&res);
	return 0;
}
