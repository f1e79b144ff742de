/* Fuzz target: deciding whether a MIME part of a Direct message is an HL7
 * v2 message (adt/intake.h intake_is_hl7). Input: the part's Content-Type
 * up to the first '\n' (none: no Content-Type), then its decoded body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adt/intake.h"

#define MAX_TYPE 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	const uint8_t *body = data;
	size_t n = size;
	char ct[MAX_TYPE];
	bool sniff, hl7;

	sniff = intake_is_hl7(NULL, data, size);
	if (intake_is_hl7("", data, size) != sniff ||
	    intake_is_hl7("text/plain", data, size) != sniff ||
	    intake_is_hl7(" Application/Octet-Stream; x=1", data, size) !=
	    sniff || !intake_is_hl7("application/hl7-v2+er7", data, size) ||
	    intake_is_hl7("image/png", data, size))
		abort();
	/* a body that sniffs as HL7 has MSH, FHS or BHS after a BOM and
	 * white space */
	if (sniff && memmem(data, size < 64 ? size : 64, "MSH", 3) == NULL &&
	    memmem(data, size < 64 ? size : 64, "FHS", 3) == NULL &&
	    memmem(data, size < 64 ? size : 64, "BHS", 3) == NULL &&
	    size < 64)
		abort();
	if (nl != NULL) {
		size_t tl = (size_t)(nl - data);

		if (tl >= sizeof(ct))
			tl = sizeof(ct) - 1;
		memcpy(ct, data, tl);
		ct[tl] = '\0';
		body = nl + 1;
		n = size - (size_t)(nl - data) - 1;
		hl7 = intake_is_hl7(ct, body, n);
		/* parameters never change the answer */
		if (tl > 0 && tl + 12 < sizeof(ct) && strchr(ct, ';') == NULL &&
		    strchr(ct, ' ') == NULL && strchr(ct, '\t') == NULL) {
			memcpy(ct + tl, "; charset=x", 12);
			if (intake_is_hl7(ct, body, n) != hl7)
				abort();
		}
	}
	return 0;
}
