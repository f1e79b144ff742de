/* The Direct intake: messages the HISP delivers to an intake address
 * (kind "intake", e.g. adt@a.example) go to the HL7 intake. Every HL7
 * attachment (by MIME type, or a body that starts with MSH/FHS/BHS) is
 * validated and stored like an MLLP submission; the sender gets each ACK
 * back as a Direct message (text/hl7v2), besides the MDNs. A message with
 * no HL7 in it is refused (the sender gets a failed MDN). */
#ifndef GATEWAY_DIRECT_INTAKE_H
#define GATEWAY_DIRECT_INTAKE_H

#include <stdbool.h>

#include "adt/intake.h"
#include "core/err.h"
#include "hisp/hisp.h"

struct direct_intake {
	struct intake *intake;
	struct hisp *hisp;   /* for the ACKs; set once hisp has started */
	bool send_ack;
};

/* A deliver_hook_fn (hisp/deliver.h); arg is a struct direct_intake. */
int direct_intake_hook(void *arg, const char *rcpt, const char *from,
    const uint8_t *msg, size_t len, struct err *e);

#endif
