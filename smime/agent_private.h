/* Agent internals for tests and fuzzing (module-private). */
#ifndef SMIME_AGENT_PRIVATE_H
#define SMIME_AGENT_PRIVATE_H

#include <stdbool.h>

#include "smime/agent.h"

/* agent_open from step 2 on: plain[0..plain_len) is taken as the content
 * of the enveloped-data (what decryption would give); req->msg still
 * supplies the outer header. Same results and ownership as agent_open.
 * For fuzzing the layers under the encryption. */
int agent_open_plain(const struct agent *a, const struct agent_open_req *req,
    const uint8_t *plain, size_t plain_len, struct agent_open_result *res,
    struct err *e);

/* Seal with OpenSSL's generic CMS code only, not the direct DER writer
 * of cms_der_private.h (tests compare both; the default is off). Before
 * the agent is shared. */
void agent_set_generic_cms(struct agent *a, bool on);

#endif
