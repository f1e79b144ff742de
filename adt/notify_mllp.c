#include "adt/notify_mllp.h"

#include <string.h>

#include "adt/ack.h"
#include "core/str.h"

const char *
notify_mllp_outcome_name(enum notify_mllp_outcome o)
{
	switch (o) {
	case NOTIFY_MLLP_DELIVERED:
		return "delivered";
	case NOTIFY_MLLP_RETRY:
		return "retry";
	case NOTIFY_MLLP_FAILED:
		return "failed";
	}
	return "?";
}

enum notify_mllp_outcome
notify_mllp_classify(const void *p, size_t n, const char *control_id,
    char code_r[4])
{
	struct ack_info a;
	struct err e;

	str_lcpy(code_r, "-", 4);
	if (ack_parse(p, n, &a, &e) != 0)
		return NOTIFY_MLLP_RETRY;
	str_lcpy(code_r, a.code, 4);
	if (control_id != NULL && strcmp(a.control_id, control_id) != 0)
		return NOTIFY_MLLP_RETRY;
	if (strcmp(a.code, "AA") == 0 || strcmp(a.code, "CA") == 0)
		return NOTIFY_MLLP_DELIVERED;
	if (strcmp(a.code, "AE") == 0 || strcmp(a.code, "CE") == 0)
		return NOTIFY_MLLP_FAILED;
	return NOTIFY_MLLP_RETRY;
}

int64_t
notify_mllp_backoff(int attempts, int64_t base_ms)
{
	int64_t d = base_ms, cap = 3600000;

	if (attempts < 1)
		attempts = 1;
	for (int i = 1; i < attempts && d < cap; i++)
		d *= 2;
	return d > cap ? cap : d;
}

const char *
notify_mllp_next(enum notify_mllp_outcome o, int attempts, int max_retries,
    int64_t base_ms, int64_t now_ms, int64_t *next_try_r)
{
	*next_try_r = now_ms;
	switch (o) {
	case NOTIFY_MLLP_DELIVERED:
		return "delivered";
	case NOTIFY_MLLP_FAILED:
		return "failed";
	case NOTIFY_MLLP_RETRY:
		break;
	}
	if (attempts > max_retries)
		return "failed";
	*next_try_r = now_ms + notify_mllp_backoff(attempts, base_ms);
	return "pending";
}
