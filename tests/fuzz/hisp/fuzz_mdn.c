/* Fuzz target: reading MDNs and DSNs (hisp/mdn.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hisp/mdn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdn_report r;
	struct err e;
	int rc = mdn_parse(data, size, &r, &e);

	if (rc == 1 && (r.final_recipient[0] == '\0' ||
	    r.disposition == MDN_NONE ||
	    strlen(r.orig_message_id) >= sizeof(r.orig_message_id)))
		abort();
	if (rc < 0 && (e.msg[0] == '\0' || e.kind != ERR_PROTO))
		abort();
	return 0;
}
