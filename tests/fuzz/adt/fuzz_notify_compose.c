/* libFuzzer target: what the notification agent does with an accepted
 * ADT's bytes: the event policy, the person read for matching, the
 * enrichment Z-segments (escaped with the message's own delimiters, the
 * result must parse again and carry them), the readable summary (valid
 * UTF-8 whatever the input) and the Direct packaging. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adt/hl7.h"
#include "adt/notify_compose.h"
#include "adt/notify_plan.h"
#include "adt/notify_policy.h"
#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *npis[] = {"1234567893", "x|y^z~w\\v&u\r\n"};
	const char *pids[] = {"G1"};
	struct notify_risk risk = {"T", "C", "1|2", "2026", "d\\e", "o", "x"};
	struct notify_enrich z = {npis, 2, pids, 1, "CK&1", &risk, 1, NULL};
	struct notify_policy pol;
	struct acrs_person person;
	struct hl7_msg *m = NULL, *m2 = NULL;
	struct buf out, sum;
	struct err e;

	if (hl7_parse(data, size, &m, &e) != 0)
		return 0;
	notify_policy_decide(m, "HOSP,X", &pol);
	notify_plan_person(m, &person);
	buf_init(&out, BUF_UNLIMITED);
	buf_init(&sum, BUF_UNLIMITED);
	if (notify_compose_enrich(data, size, &z, &out, &e) == 0) {
		const uint8_t *p;
		size_t n;

		size_t k;

		if (hl7_parse(out.data, out.len, &m2, &e) != 0)
			abort();
		/* Five segments more (ZNP ZNP ZCK ZPD ZPR), whatever the
		 * values held: the escaping kept every delimiter out. */
		k = hl7_msg_nsegs(m2);
		if (k != hl7_msg_nsegs(m) + 5 ||
		    strcmp(hl7_msg_seg_name(m2, k - 1), "ZPR") != 0 ||
		    strcmp(hl7_msg_seg_name(m2, k - 4), "ZNP") != 0 ||
		    hl7_msg_nfields(m2, k - 4) != 3 ||
		    hl7_msg_get_at(m2, k - 4, 2, 0, 0, 0, &p, &n) != 1)
			abort();
		hl7_msg_free(&m2);
	}
	notify_compose_summary(m, pol.event, 1, pol.test, &sum);
	{
		const void *parts[1] = {out.data};
		size_t lens[1] = {out.len};
		struct notify_direct d = {"n@a.test", "r@b.test", "<x@a.test>",
		    0, pol.event, sum.data, sum.len, parts, lens, 1, 0};
		struct buf msg;

		buf_init(&msg, BUF_UNLIMITED);
		(void)notify_compose_direct(&d, &msg, &e);
		buf_release(&msg);
	}
	buf_release(&out);
	buf_release(&sum);
	hl7_msg_free(&m);
	return 0;
}
