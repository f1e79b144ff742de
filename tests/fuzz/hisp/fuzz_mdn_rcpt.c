/* Fuzz target: reading every recipient of a report (hisp/mdn.h
 * mdn_parse_rcpt) and the Message-ID of a header (hisp/header.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hisp/header.h"
#include "hisp/mdn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdn_report r;
	struct err e;
	char *id;

	for (size_t i = 0; i < 8; i++) {
		int rc = mdn_parse_rcpt(data, size, i, &r, &e);

		if (rc == 1 && (r.final_recipient[0] == '\0' ||
		    r.disposition == MDN_NONE))
			abort();
		if (rc < 0 && (e.msg[0] == '\0' || e.kind != ERR_PROTO))
			abort();
		if (rc != 1)
			break;
	}
	id = header_message_id(data, size);
	if (id != NULL && (id[0] == '\0' || strlen(id) >= 990))
		abort();
	free(id);
	return 0;
}
