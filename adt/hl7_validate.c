#include "adt/hl7_validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/str.h"

struct event_def {
	const char *event;
	const char *structure;
	const char *required; /* in order, after MSH */
};

/* ADT events of v2.5.1 and the segments their structures require. */
static const struct event_def events[] = {
	{"A01", "ADT_A01", "EVN PID PV1"},
	{"A02", "ADT_A02", "EVN PID PV1"},
	{"A03", "ADT_A03", "EVN PID PV1"},
	{"A04", "ADT_A01", "EVN PID PV1"},
	{"A05", "ADT_A05", "EVN PID PV1"},
	{"A06", "ADT_A06", "EVN PID PV1"},
	{"A07", "ADT_A06", "EVN PID PV1"},
	{"A08", "ADT_A01", "EVN PID PV1"},
	{"A09", "ADT_A09", "EVN PID PV1"},
	{"A10", "ADT_A09", "EVN PID PV1"},
	{"A11", "ADT_A09", "EVN PID PV1"},
	{"A12", "ADT_A12", "EVN PID PV1"},
	{"A13", "ADT_A01", "EVN PID PV1"},
	{"A14", "ADT_A05", "EVN PID PV1"},
	{"A15", "ADT_A15", "EVN PID PV1"},
	{"A16", "ADT_A16", "EVN PID PV1"},
	{"A17", "ADT_A17", "EVN PID PV1"},
	{"A18", "ADT_A18", "EVN PID MRG"},
	{"A20", "ADT_A20", "EVN NPU"},
	{"A21", "ADT_A21", "EVN PID PV1"},
	{"A22", "ADT_A21", "EVN PID PV1"},
	{"A23", "ADT_A21", "EVN PID PV1"},
	{"A24", "ADT_A24", "EVN PID"},
	{"A25", "ADT_A21", "EVN PID PV1"},
	{"A26", "ADT_A21", "EVN PID PV1"},
	{"A27", "ADT_A21", "EVN PID PV1"},
	{"A28", "ADT_A05", "EVN PID PV1"},
	{"A29", "ADT_A21", "EVN PID PV1"},
	{"A30", "ADT_A30", "EVN PID MRG"},
	{"A31", "ADT_A05", "EVN PID PV1"},
	{"A32", "ADT_A21", "EVN PID PV1"},
	{"A33", "ADT_A21", "EVN PID PV1"},
	{"A34", "ADT_A30", "EVN PID MRG"},
	{"A35", "ADT_A30", "EVN PID MRG"},
	{"A36", "ADT_A30", "EVN PID MRG"},
	{"A37", "ADT_A37", "EVN PID"},
	{"A38", "ADT_A38", "EVN PID PV1"},
	{"A39", "ADT_A39", "EVN PID MRG"},
	{"A40", "ADT_A39", "EVN PID MRG"},
	{"A41", "ADT_A39", "EVN PID MRG"},
	{"A42", "ADT_A39", "EVN PID MRG"},
	{"A43", "ADT_A43", "EVN PID MRG"},
	{"A44", "ADT_A43", "EVN PID MRG"},
	{"A45", "ADT_A45", "EVN PID MRG PV1"},
	{"A46", "ADT_A30", "EVN PID MRG"},
	{"A47", "ADT_A30", "EVN PID MRG"},
	{"A48", "ADT_A30", "EVN PID MRG"},
	{"A49", "ADT_A30", "EVN PID MRG"},
	{"A50", "ADT_A50", "EVN PID MRG PV1"},
	{"A51", "ADT_A50", "EVN PID MRG PV1"},
	{"A52", "ADT_A52", "EVN PID PV1"},
	{"A53", "ADT_A52", "EVN PID PV1"},
	{"A54", "ADT_A54", "EVN PID PV1"},
	{"A55", "ADT_A52", "EVN PID PV1"},
	{"A60", "ADT_A60", "EVN PID"},
	{"A61", "ADT_A61", "EVN PID PV1"},
	{"A62", "ADT_A61", "EVN PID PV1"},
	{NULL, NULL, NULL},
};

static const char *const versions[] = {
	"2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8",
	"2.8.1", "2.8.2", NULL,
};

static const struct event_def *
find_event(const char *event)
{
	for (const struct event_def *d = events; d->event; d++)
		if (strcmp(d->event, event) == 0)
			return d;
	return NULL;
}

const char *
hl7_validate_structure(const char *event)
{
	const struct event_def *d = find_event(event);

	return d ? d->structure : NULL;
}

bool
hl7_validate_version_ok(const char *version)
{
	for (int i = 0; versions[i]; i++)
		if (strcmp(versions[i], version) == 0)
			return true;
	return false;
}

const char *
hl7_validate_code_text(int code)
{
	switch (code) {
	case HL7_OK: return "Message accepted";
	case HL7_SEGMENT_SEQUENCE: return "Segment sequence error";
	case HL7_REQUIRED_MISSING: return "Required field missing";
	case HL7_DATA_TYPE: return "Data type error";
	case HL7_TABLE_VALUE: return "Table value not found";
	case HL7_UNSUPPORTED_TYPE: return "Unsupported message type";
	case HL7_UNSUPPORTED_EVENT: return "Unsupported event code";
	case HL7_UNSUPPORTED_PROCESSING: return "Unsupported processing id";
	case HL7_UNSUPPORTED_VERSION: return "Unsupported version id";
	case HL7_UNKNOWN_KEY: return "Unknown key identifier";
	case HL7_DUPLICATE_KEY: return "Duplicate key identifier";
	case HL7_RECORD_LOCKED: return "Application record locked";
	case HL7_INTERNAL: return "Application internal error";
	default: return "Unknown error";
	}
}

static bool
digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int
num2(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

bool
hl7_validate_dtm(const char *s, size_t n)
{
	size_t k = 0;

	while (k < n && s[k] >= '0' && s[k] <= '9')
		k++;
	if (k != 4 && k != 6 && k != 8 && k != 10 && k != 12 && k != 14)
		return false;
	if (k >= 6 && (num2(s + 4) < 1 || num2(s + 4) > 12))
		return false;
	if (k >= 8 && (num2(s + 6) < 1 || num2(s + 6) > 31))
		return false;
	if (k >= 10 && num2(s + 8) > 23)
		return false;
	if (k >= 12 && num2(s + 10) > 59)
		return false;
	if (k >= 14 && num2(s + 12) > 60)
		return false;
	if (k < n && s[k] == '.') {
		size_t f = ++k;

		if (f - 1 != 14)
			return false;
		while (k < n && s[k] >= '0' && s[k] <= '9')
			k++;
		if (k - f < 1 || k - f > 4)
			return false;
	}
	if (k < n && (s[k] == '+' || s[k] == '-')) {
		if (n - k != 5 || !digits(s + k + 1, 4) ||
		    num2(s + k + 1) > 14 || num2(s + k + 3) > 59)
			return false;
		k = n;
	}
	return k == n;
}

void
hl7_validate_add(struct hl7_validation *v, const char *seg, unsigned seq,
    unsigned field, unsigned rep, unsigned comp, int code, char severity,
    const char *fmt, ...)
{
	struct hl7_problem *p;
	va_list ap;

	if (severity == 'E')
		v->nerrors++;
	if (v->nproblems >= HL7_MAX_PROBLEMS) {
		v->truncated = true;
		return;
	}
	p = &v->problems[v->nproblems++];
	memset(p, 0, sizeof(*p));
	str_lcpy(p->seg, seg, sizeof(p->seg));
	p->seq = seq;
	p->field = field;
	p->rep = rep;
	p->comp = comp;
	p->code = code;
	p->severity = severity;
	va_start(ap, fmt);
	vsnprintf(p->text, sizeof(p->text), fmt, ap);
	va_end(ap);
}

static void
copy_at(const struct hl7_msg *m, unsigned field, unsigned comp, char *dst,
    size_t size)
{
	const uint8_t *p;
	size_t n;

	dst[0] = '\0';
	if (hl7_msg_get_at(m, 0, field, comp ? 1 : 0, comp, 0, &p, &n) != 1)
		return;
	if (n >= size)
		n = size - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

void
hl7_validate_header(const struct hl7_msg *m, struct hl7_header *h)
{
	memset(h, 0, sizeof(*h));
	if (hl7_msg_nsegs(m) == 0 || strcmp(hl7_msg_seg_name(m, 0), "MSH"))
		return;
	copy_at(m, 9, 1, h->type, sizeof(h->type));
	copy_at(m, 9, 2, h->event, sizeof(h->event));
	copy_at(m, 9, 3, h->structure, sizeof(h->structure));
	copy_at(m, 10, 0, h->control_id, sizeof(h->control_id));
	copy_at(m, 11, 1, h->processing, sizeof(h->processing));
	copy_at(m, 12, 1, h->version, sizeof(h->version));
	copy_at(m, 3, 0, h->app, sizeof(h->app));
	copy_at(m, 4, 0, h->facility, sizeof(h->facility));
	copy_at(m, 5, 0, h->recv_app, sizeof(h->recv_app));
	copy_at(m, 6, 0, h->recv_facility, sizeof(h->recv_facility));
	copy_at(m, 15, 0, h->accept_ack, sizeof(h->accept_ack));
	copy_at(m, 16, 0, h->app_ack, sizeof(h->app_ack));
	copy_at(m, 18, 0, h->charset, sizeof(h->charset));
	if (h->structure[0] == '\0' && strcmp(h->type, "ADT") == 0) {
		const char *s = hl7_validate_structure(h->event);

		if (s)
			str_lcpy(h->structure, s, sizeof(h->structure));
	}
}

static bool
seg_name_ok(const char *name, size_t full_len)
{
	if (full_len != 3)
		return false;
	if (name[0] < 'A' || name[0] > 'Z')
		return false;
	for (int i = 1; i < 3; i++)
		if (!((name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9')))
			return false;
	return true;
}

/* Whether the value has any content besides delimiters. */
static bool
has_content(const struct hl7_msg *m, const uint8_t *p, size_t n)
{
	const struct hl7_delims *d = hl7_msg_delims(m);

	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)d->comp && p[i] != (uint8_t)d->sub &&
		    p[i] != (uint8_t)d->rep && p[i] != ' ')
			return true;
	return false;
}

static void
check_segments(const struct hl7_msg *m, struct hl7_validation *v,
    const char *required)
{
	size_t nsegs = hl7_msg_nsegs(m);
	long last = 0;
	char name[4];

	for (size_t i = 0; i < nsegs; i++) {
		size_t n;
		const uint8_t *p;
		const char *nm = hl7_msg_seg_name(m, i);

		(void)hl7_msg_get_at(m, i, 0, 0, 0, 0, &p, &n);
		if (!seg_name_ok(nm, n))
			hl7_validate_add(v, "", 0, 0, 0, 0,
			    HL7_SEGMENT_SEQUENCE, 'E',
			    "segment %zu has no valid segment ID", i + 1);
		else if (i > 0 && strcmp(nm, "MSH") == 0)
			hl7_validate_add(v, "MSH", 2, 0, 0, 0,
			    HL7_SEGMENT_SEQUENCE, 'E',
			    "more than one MSH segment (batches must be split)");
	}
	while (required && *required) {
		long at;

		memcpy(name, required, 3);
		name[3] = '\0';
		required += required[3] == ' ' ? 4 : 3;
		at = hl7_msg_find_seg(m, name, 1);
		if (at < 0) {
			bool evn = strcmp(name, "EVN") == 0;

			hl7_validate_add(v, name, 1, 0, 0, 0,
			    HL7_SEGMENT_SEQUENCE, evn ? 'W' : 'E',
			    "required segment %s missing", name);
			continue;
		}
		if (at < last)
			hl7_validate_add(v, name, 1, 0, 0, 0,
			    HL7_SEGMENT_SEQUENCE, 'E',
			    "segment %s out of order", name);
		else
			last = at;
	}
}

static void
check_pid(const struct hl7_msg *m, struct hl7_validation *v)
{
	long pid = hl7_msg_find_seg(m, "PID", 1);
	const uint8_t *p;
	size_t n;
	unsigned reps;
	bool any = false;

	if (pid < 0)
		return;
	reps = hl7_msg_count_reps(m, (size_t)pid, 3);
	for (unsigned r = 1; r <= reps && !any; r++)
		if (hl7_msg_get_at(m, (size_t)pid, 3, r, 1, 0, &p, &n) == 1 &&
		    n > 0 && has_content(m, p, n))
			any = true;
	if (!any)
		hl7_validate_add(v, "PID", 1, 3, 1, 1, HL7_REQUIRED_MISSING,
		    'E', "PID-3 (patient identifier list) has no identifier");
	if (hl7_msg_get_at(m, (size_t)pid, 5, 1, 0, 0, &p, &n) != 1 ||
	    !has_content(m, p, n))
		hl7_validate_add(v, "PID", 1, 5, 1, 0, HL7_REQUIRED_MISSING,
		    'E', "PID-5 (patient name) is empty");
	else if (hl7_msg_get_at(m, (size_t)pid, 5, 1, 1, 0, &p, &n) != 1 ||
	    !has_content(m, p, n))
		hl7_validate_add(v, "PID", 1, 5, 1, 1, HL7_REQUIRED_MISSING,
		    'W', "PID-5.1 (family name) is empty");
	if (hl7_msg_get_at(m, (size_t)pid, 7, 1, 1, 0, &p, &n) != 1 ||
	    n == 0)
		hl7_validate_add(v, "PID", 1, 7, 1, 1, HL7_REQUIRED_MISSING,
		    'W', "PID-7 (date of birth) is empty");
	else if (!hl7_validate_dtm((const char *)p, n))
		hl7_validate_add(v, "PID", 1, 7, 1, 1, HL7_DATA_TYPE, 'E',
		    "PID-7 (date of birth) is not a valid date/time (DTM)");
}

size_t
hl7_validate(const struct hl7_msg *m, struct hl7_validation *v)
{
	struct hl7_header *h = &v->hdr;
	const struct event_def *ev = NULL;
	const uint8_t *p;
	size_t n;

	memset(v, 0, sizeof(*v));
	hl7_validate_header(m, h);
	if (hl7_msg_nsegs(m) == 0 || strcmp(hl7_msg_seg_name(m, 0), "MSH")) {
		hl7_validate_add(v, "MSH", 1, 0, 0, 0, HL7_SEGMENT_SEQUENCE,
		    'E', "message does not begin with MSH");
		return v->nerrors;
	}
	if (h->type[0] == '\0')
		hl7_validate_add(v, "MSH", 1, 9, 1, 1, HL7_REQUIRED_MISSING,
		    'E', "MSH-9.1 (message type) is empty");
	else if (strcmp(h->type, "ACK") == 0)
		v->is_ack = true;
	else if (strcmp(h->type, "ADT") != 0)
		hl7_validate_add(v, "MSH", 1, 9, 1, 1, HL7_UNSUPPORTED_TYPE,
		    'E', "message type is not ADT");
	if (strcmp(h->type, "ADT") == 0) {
		if (h->event[0] == '\0')
			hl7_validate_add(v, "MSH", 1, 9, 1, 2,
			    HL7_REQUIRED_MISSING, 'E',
			    "MSH-9.2 (trigger event) is empty");
		else if ((ev = find_event(h->event)) == NULL)
			hl7_validate_add(v, "MSH", 1, 9, 1, 2,
			    HL7_UNSUPPORTED_EVENT, 'E',
			    "trigger event is not a supported ADT event");
	}
	if (hl7_msg_get_at(m, 0, 10, 0, 0, 0, &p, &n) != 1 || n == 0)
		hl7_validate_add(v, "MSH", 1, 10, 0, 0, HL7_REQUIRED_MISSING,
		    'E', "MSH-10 (message control ID) is empty");
	else if (n > 199)
		hl7_validate_add(v, "MSH", 1, 10, 0, 0, HL7_DATA_TYPE, 'E',
		    "MSH-10 (message control ID) is longer than 199");
	if (h->processing[0] == '\0')
		hl7_validate_add(v, "MSH", 1, 11, 1, 1, HL7_REQUIRED_MISSING,
		    'W', "MSH-11 (processing ID) is empty; taken as P");
	else if (strcmp(h->processing, "P") && strcmp(h->processing, "T") &&
	    strcmp(h->processing, "D"))
		hl7_validate_add(v, "MSH", 1, 11, 1, 1,
		    HL7_UNSUPPORTED_PROCESSING, 'E',
		    "MSH-11 (processing ID) must be P, T or D");
	if (h->version[0] == '\0')
		hl7_validate_add(v, "MSH", 1, 12, 1, 1, HL7_REQUIRED_MISSING,
		    'E', "MSH-12 (version ID) is empty");
	else if (!hl7_validate_version_ok(h->version))
		hl7_validate_add(v, "MSH", 1, 12, 1, 1,
		    HL7_UNSUPPORTED_VERSION, 'E',
		    "version is not one of 2.3 to 2.8");
	if (v->is_ack)
		return v->nerrors;
	check_segments(m, v, ev ? ev->required : NULL);
	if (ev && strstr(ev->required, "PID"))
		check_pid(m, v);
	if (ev && strstr(ev->required, "MRG")) {
		long mrg = hl7_msg_find_seg(m, "MRG", 1);

		if (mrg >= 0 && (hl7_msg_get_at(m, (size_t)mrg, 1, 1, 1, 0, &p,
		    &n) != 1 || !has_content(m, p, n)))
			hl7_validate_add(v, "MRG", 1, 1, 1, 1,
			    HL7_REQUIRED_MISSING, 'E',
			    "MRG-1 (prior patient identifier) is empty");
	}
	return v->nerrors;
}
