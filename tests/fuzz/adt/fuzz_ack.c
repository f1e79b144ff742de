/* Fuzz target: reading the HL7 ACKs that the MLLP receivers we notify send
 * back (adt/ack.h ack_parse) and what the notifier makes of them
 * (adt/notify_mllp.h notify_mllp_classify). The input is one ACK, as the
 * MLLP framing hands it over. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adt/ack.h"
#include "adt/notify_mllp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_str(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

/* What the classification must be for code when MSA-2 matched. */
static enum notify_mllp_outcome
expected(const char *code)
{
	if (strcmp(code, "AA") == 0 || strcmp(code, "CA") == 0)
		return NOTIFY_MLLP_DELIVERED;
	if (strcmp(code, "AE") == 0 || strcmp(code, "CE") == 0)
		return NOTIFY_MLLP_FAILED;
	return NOTIFY_MLLP_RETRY;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ack_info a;
	struct err e;
	char code[4];
	enum notify_mllp_outcome o;
	int rc = ack_parse(data, size, &a, &e);

	if (rc != 0) {
		if (rc != -1 || e.msg[0] == '\0')
			abort();
		if (notify_mllp_classify(data, size, "C1", code) !=
		    NOTIFY_MLLP_RETRY || strcmp(code, "-") != 0)
			abort();
		return 0;
	}
	check_str(a.code, sizeof(a.code));
	check_str(a.control_id, sizeof(a.control_id));
	check_str(a.ack_control_id, sizeof(a.ack_control_id));
	if (a.nerrs > ACK_INFO_MAX_ERRS)
		abort();
	for (size_t i = 0; i < a.nerrs; i++) {
		check_str(a.errs[i].location, sizeof(a.errs[i].location));
		check_str(a.errs[i].text, sizeof(a.errs[i].text));
		if (a.errs[i].code < 0 || a.errs[i].code > 999999 ||
		    a.errs[i].severity == '\0')
			abort();
	}
	/* our own control id in MSA-2: the code decides */
	o = notify_mllp_classify(data, size, a.control_id, code);
	if (o != expected(a.code) || strcmp(code, a.code) != 0)
		abort();
	o = notify_mllp_classify(data, size, NULL, code);
	if (o != expected(a.code))
		abort();
	/* another message's ACK is never a delivery or a refusal */
	if (strcmp(a.control_id, "NOT-OURS") != 0 &&
	    notify_mllp_classify(data, size, "NOT-OURS", code) !=
	    NOTIFY_MLLP_RETRY)
		abort();
	return 0;
}
