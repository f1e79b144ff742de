#include "adt/notify_policy.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/str.h"

const char *
notify_action_name(enum notify_action a)
{
	switch (a) {
	case NOTIFY_SEND:
		return "notify";
	case NOTIFY_SUBSCRIBED:
		return "subscribed";
	case NOTIFY_RETRACT:
		return "retract";
	case NOTIFY_MERGE:
		return "merge";
	case NOTIFY_IGNORE:
		return "ignore";
	}
	return "?";
}

bool
notify_policy_list_has(const char *list, const char *word)
{
	size_t wn = strlen(word);
	const char *p = list;

	if (list == NULL || wn == 0)
		return false;
	while (*p != '\0') {
		size_t n;

		while (*p == ',' || *p == ' ' || *p == ';' || *p == '\t')
			p++;
		n = strcspn(p, ", ;\t");
		if (n == wn && str_span_caseeq(p, n, word))
			return true;
		p += n;
	}
	return false;
}

void
notify_policy_digest(const char *text, char dst[17])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)text; *p != '\0';
	    p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	snprintf(dst, 17, "%016llx", (unsigned long long)h);
}

int
notify_policy_field(const struct hl7_msg *m, const char *path, char *dst,
    size_t size)
{
	const uint8_t *p;
	size_t n, k;
	struct buf b;

	if (size == 0)
		return 0;
	dst[0] = '\0';
	if (hl7_msg_path(m, path, &p, &n) != 1 || n == 0)
		return 0;
	buf_init(&b, BUF_UNLIMITED);
	(void)hl7_unescape(hl7_msg_delims(m), p, n, &b);
	k = b.len < size - 1 ? b.len : size - 1;
	if (k > 0)
		memcpy(dst, b.data, k);
	dst[k] = '\0';
	buf_release(&b);
	return dst[0] != '\0';
}

static const struct {
	const char *event;
	enum notify_action action;
	const char *cancels;
} notify_events[] = {
	{"A01", NOTIFY_SEND, NULL},
	{"A02", NOTIFY_SEND, NULL},
	{"A03", NOTIFY_SEND, NULL},
	{"A06", NOTIFY_SEND, NULL},
	{"A07", NOTIFY_SEND, NULL},
	{"A04", NOTIFY_SEND, NULL}, /* E only; else subscribed */
	{"A08", NOTIFY_SUBSCRIBED, NULL},
	{"A09", NOTIFY_SUBSCRIBED, NULL},
	{"A10", NOTIFY_SUBSCRIBED, NULL},
	{"A11", NOTIFY_RETRACT, "A01"},
	{"A12", NOTIFY_RETRACT, "A02"},
	{"A13", NOTIFY_RETRACT, "A03"},
	{"A40", NOTIFY_MERGE, NULL},
};

static bool
notify_policy_sensitive_dx(const struct hl7_msg *m)
{
	for (unsigned i = 1; i <= 50; i++) {
		char path[32], code[16], sys[16];

		str_fmt(path, sizeof(path), "DG1[%u]-3.1", i);
		if (notify_policy_field(m, path, code, sizeof(code)) != 1)
			break;
		str_fmt(path, sizeof(path), "DG1[%u]-3.3", i);
		if (notify_policy_field(m, path, sys, sizeof(sys)) != 1)
			sys[0] = '\0';
		/* ICD-10 chapter V: F01-F99. */
		if ((sys[0] == '\0' || str_casebegins(sys, "I10")) &&
		    (code[0] == 'F' || code[0] == 'f') &&
		    code[1] >= '0' && code[1] <= '9')
			return true;
	}
	return false;
}

void
notify_policy_decide(const struct hl7_msg *m,
    const char *sensitive_facilities, struct notify_policy *p)
{
	char proc[8], svc[16], fac[128], loc_fac[128], visit[128], pid[128],
	    admit[32], cls[8];

	memset(p, 0, sizeof(*p));
	p->action = NOTIFY_IGNORE;
	p->reason = "unknown_event";
	if (notify_policy_field(m, "MSH-9.2", p->event, sizeof(p->event)) != 1 ||
	    strlen(p->event) != 3) {
		/* ADT^A01 written as MSH-9 "ADT_A01"? Not an event we know. */
		p->event[0] = '\0';
	}
	if (notify_policy_field(m, "MSH-11.1", proc, sizeof(proc)) == 1 &&
	    (proc[0] == 'T' || proc[0] == 'D'))
		p->test = true;
	if (notify_policy_field(m, "PV1-2", cls, sizeof(cls)) == 1)
		p->patient_class = cls[0];

	if (notify_policy_field(m, "MSH-4.1", fac, sizeof(fac)) != 1)
		fac[0] = '\0';
	if (notify_policy_field(m, "PV1-19.1", visit, sizeof(visit)) == 1 &&
	    visit[0] != '\0')
		str_fmt(p->visit, sizeof(p->visit), "%s|v|%s", fac, visit);
	else {
		if (notify_policy_field(m, "PID-3[1].1", pid, sizeof(pid)) != 1)
			pid[0] = '\0';
		if (notify_policy_field(m, "PV1-44.1", admit, sizeof(admit)) != 1)
			admit[0] = '\0';
		str_fmt(p->visit, sizeof(p->visit), "%s|p|%s|%s", fac, pid,
		    admit);
	}

	/* Sensitivity. */
	if (notify_policy_sensitive_dx(m)) {
		p->sensitive = true;
		p->sensitive_why = "diagnosis";
	} else if (notify_policy_field(m, "PV1-10.1", svc, sizeof(svc)) == 1 &&
	    (notify_policy_list_has("PSY,BH,BHS,MH,SUB", svc))) {
		p->sensitive = true;
		p->sensitive_why = "service";
	} else {
		if (notify_policy_field(m, "PV1-3.4.1", loc_fac,
		    sizeof(loc_fac)) != 1)
			loc_fac[0] = '\0';
		if ((fac[0] != '\0' && notify_policy_list_has(
		    sensitive_facilities, fac)) || (loc_fac[0] != '\0' &&
		    notify_policy_list_has(sensitive_facilities, loc_fac))) {
			p->sensitive = true;
			p->sensitive_why = "facility";
		}
	}

	for (size_t i = 0; i < sizeof(notify_events) / sizeof(notify_events[0]);
	    i++) {
		if (strcmp(notify_events[i].event, p->event) != 0)
			continue;
		p->action = notify_events[i].action;
		p->reason = notify_action_name(p->action);
		if (notify_events[i].cancels != NULL)
			str_lcpy(p->cancels, notify_events[i].cancels,
			    sizeof(p->cancels));
		if (strcmp(p->event, "A04") == 0 && p->patient_class != 'E') {
			p->action = NOTIFY_SUBSCRIBED;
			p->reason = "a04_not_emergency";
		}
		return;
	}
	if (p->event[0] != '\0')
		p->reason = "not_notified";
}
