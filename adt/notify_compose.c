#include "adt/notify_compose.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adt/notify_policy.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "hisp/queue.h"
#include "smime/mime.h"

/* Values copied out of a message for the summary are capped. */
#define FIELD_MAX 256

/* Adds segment name with values, control characters replaced by spaces
 * first (identifiers never carry line breaks, and hl7_escape's \.br\
 * would break a message whose field separator is '.'). */
static int
notify_add(struct hl7_msg *m, const char *name, const char *const *values,
    size_t nv, struct err *e)
{
	char *copy[8];
	int rc;

	assert(nv <= 8);
	for (size_t i = 0; i < nv; i++) {
		copy[i] = xstrdup(values[i] != NULL ? values[i] : "");
		for (char *p = copy[i]; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
	}
	rc = hl7_msg_add_fields(m, name, (const char *const *)copy, nv, e);
	for (size_t i = 0; i < nv; i++)
		free(copy[i]);
	return rc;
}

int
notify_compose_enrich(const void *raw, size_t n,
    const struct notify_enrich *z, struct buf *out, struct err *e)
{
	struct hl7_msg *m = NULL;
	const char *set = z->zsegments != NULL ? z->zsegments :
	    "ZNP,ZPD,ZCK,ZPR";
	int rc = -1;

	if (hl7_parse(raw, n, &m, e) != 0)
		return -1;
	if (notify_policy_list_has(set, "ZNP"))
		for (size_t i = 0; i < z->n_npis; i++) {
			const char *v[] = {"ACRSNPI", z->npis[i]};

			if (notify_add(m, "ZNP", v, 2, e) != 0)
				goto out;
		}
	if (notify_policy_list_has(set, "ZCK") && z->common_key != NULL &&
	    z->common_key[0] != '\0') {
		const char *v[] = {"CKS", z->common_key};

		if (notify_add(m, "ZCK", v, 2, e) != 0)
			goto out;
	}
	if (notify_policy_list_has(set, "ZPD"))
		for (size_t i = 0; i < z->n_patient_ids; i++) {
			const char *v[] = {"PATIENTID", z->patient_ids[i]};

			if (notify_add(m, "ZPD", v, 2, e) != 0)
				goto out;
		}
	if (notify_policy_list_has(set, "ZPR"))
		for (size_t i = 0; i < z->n_risks; i++) {
			const struct notify_risk *r = &z->risks[i];
			char setid[16];
			const char *v[8];

			str_fmt(setid, sizeof(setid), "%zu", i + 1);
			v[0] = setid;
			v[1] = r->type;
			v[2] = r->category;
			v[3] = r->value;
			v[4] = r->date;
			v[5] = r->description;
			v[6] = r->oid;
			v[7] = r->expiration;
			if (notify_add(m, "ZPR", v, 8, e) != 0)
				goto out;
		}
	if (hl7_msg_write(m, out) != 0) {
		err_set(e, ERR_PERM, "enriched message over the size limit");
		goto out;
	}
	rc = 0;
out:
	hl7_msg_free(&m);
	return rc;
}

static const struct {
	const char *event;
	const char *words;
} notify_words[] = {
	{"A01", "Admission (inpatient)"},
	{"A02", "Transfer"},
	{"A03", "Discharge"},
	{"A04", "Registration (emergency or outpatient)"},
	{"A05", "Pre-admission"},
	{"A06", "Change from outpatient to inpatient"},
	{"A07", "Change from inpatient to outpatient"},
	{"A08", "Patient information update"},
	{"A09", "Patient departing"},
	{"A10", "Patient arriving"},
	{"A11", "Admission cancelled"},
	{"A12", "Transfer cancelled"},
	{"A13", "Discharge cancelled"},
	{"A40", "Patient records merged"},
};

const char *
notify_compose_event_words(const char *event)
{
	for (size_t i = 0; i < sizeof(notify_words) / sizeof(notify_words[0]);
	    i++)
		if (event != NULL && strcmp(event, notify_words[i].event) == 0)
			return notify_words[i].words;
	return "ADT event";
}

static const char *
notify_class_words(char c)
{
	switch (c) {
	case 'E':
		return "emergency";
	case 'I':
		return "inpatient";
	case 'O':
		return "outpatient";
	case 'V':
		return "observation";
	case 'S':
		return "short stay";
	case 'P':
		return "preadmit";
	case 'R':
		return "recurring patient";
	case 'B':
		return "obstetrics";
	default:
		return NULL;
	}
}

/* NUBC UB-04 FL17 discharge status codes, the common ones. */
static const char *
notify_disposition_words(const char *code)
{
	static const struct {
		const char *code, *words;
	} t[] = {
		{"01", "home or self care"},
		{"02", "another short-term hospital"},
		{"03", "skilled nursing facility"},
		{"04", "intermediate care facility"},
		{"05", "another type of institution"},
		{"06", "home under a home health organization"},
		{"07", "left against medical advice"},
		{"09", "admitted as an inpatient"},
		{"20", "expired"},
		{"21", "court or law enforcement"},
		{"43", "federal health care facility"},
		{"50", "hospice, home"},
		{"51", "hospice, medical facility"},
		{"61", "swing bed"},
		{"62", "inpatient rehabilitation facility"},
		{"63", "long-term care hospital"},
		{"65", "psychiatric hospital"},
		{"66", "critical access hospital"},
		{"70", "another type of health care institution"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(code, t[i].code) == 0)
			return t[i].words;
	return NULL;
}

/* The unescaped text at path (capped, control characters become spaces);
 * "" when absent. */
static const char *
notify_get(const struct hl7_msg *m, const char *path, char *dst, size_t size)
{
	struct buf b;

	buf_init(&b, FIELD_MAX);
	dst[0] = '\0';
	if (hl7_msg_path_text(m, path, &b) == 1 && b.len > 0) {
		size_t k = b.len < size - 1 ? b.len : size - 1;

		for (size_t i = 0; i < k; i++)
			dst[i] = b.data[i] < 0x20 || b.data[i] == 0x7f ? ' ' :
			    (char)b.data[i];
		dst[k] = '\0';
		str_trim(dst);
	}
	buf_release(&b);
	return dst;
}

/* HL7 DTM (YYYY[MM[DD[HH[MM[SS]]]]][+ZZZZ]) for reading. */
static void
notify_time_words(const char *ts, struct buf *out)
{
	size_t n = strspn(ts, "0123456789");
	const char *zone = strpbrk(ts, "+-");

	if (n < 8) {
		buf_append_str(out, ts);
		return;
	}
	buf_printf(out, "%.4s-%.2s-%.2s", ts, ts + 4, ts + 6);
	if (n >= 12)
		buf_printf(out, " %.2s:%.2s", ts + 8, ts + 10);
	if (zone != NULL && strlen(zone) == 5)
		buf_printf(out, " (UTC%.3s:%.2s)", zone, zone + 3);
}

static void
notify_line(struct buf *out, const char *label, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return;
	buf_printf(out, "%-22s %s\r\n", label, value);
}

/* "GIVEN MIDDLE FAMILY SUFFIX" from an XPN or XCN at path (for XCN the
 * name starts at component 2). */
static void
notify_person(const struct hl7_msg *m, const char *seg_field, int xcn,
    char *dst, size_t size)
{
	char path[64], fam[FIELD_MAX], giv[FIELD_MAX], mid[FIELD_MAX],
	    suf[FIELD_MAX], pre[FIELD_MAX];
	int o = xcn ? 1 : 0;
	struct buf b;

	str_fmt(path, sizeof(path), "%s.%d", seg_field, 1 + o);
	notify_get(m, path, fam, sizeof(fam));
	if (xcn) {
		/* XCN.2 is FN: family^own surname... only subcomponent 1. */
		str_fmt(path, sizeof(path), "%s.2.1", seg_field);
		notify_get(m, path, fam, sizeof(fam));
	}
	str_fmt(path, sizeof(path), "%s.%d", seg_field, 2 + o);
	notify_get(m, path, giv, sizeof(giv));
	str_fmt(path, sizeof(path), "%s.%d", seg_field, 3 + o);
	notify_get(m, path, mid, sizeof(mid));
	str_fmt(path, sizeof(path), "%s.%d", seg_field, 4 + o);
	notify_get(m, path, suf, sizeof(suf));
	str_fmt(path, sizeof(path), "%s.%d", seg_field, 5 + o);
	notify_get(m, path, pre, sizeof(pre));
	buf_init(&b, size > 0 ? size - 1 : 0);
	const char *parts[] = {pre, giv, mid, fam, suf};
	for (size_t i = 0; i < 5; i++) {
		if (parts[i][0] == '\0')
			continue;
		if (b.len > 0)
			buf_putc(&b, ' ');
		buf_append_str(&b, parts[i]);
	}
	str_lcpy(dst, buf_cstr(&b), size);
	buf_release(&b);
}

/* Text that is not UTF-8 is taken as Windows-1252 (what many feeds send
 * whatever MSH-18 says) and transcoded for reading. */
static void
notify_to_utf8(struct buf *out, size_t start)
{
	static const uint16_t cp1252[32] = {
		0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
		0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
		0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
		0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
	};
	struct buf t;

	if (str_utf8_valid(out->data + start, out->len - start))
		return;
	buf_init(&t, BUF_UNLIMITED);
	for (size_t i = start; i < out->len; i++) {
		uint8_t c = out->data[i];
		unsigned u = c < 0x80 ? c : c < 0xA0 ? cp1252[c - 0x80] : c;

		if (u < 0x80)
			buf_putc(&t, (uint8_t)u);
		else if (u < 0x800) {
			buf_putc(&t, (uint8_t)(0xC0 | (u >> 6)));
			buf_putc(&t, (uint8_t)(0x80 | (u & 0x3F)));
		} else {
			buf_putc(&t, (uint8_t)(0xE0 | (u >> 12)));
			buf_putc(&t, (uint8_t)(0x80 | ((u >> 6) & 0x3F)));
			buf_putc(&t, (uint8_t)(0x80 | (u & 0x3F)));
		}
	}
	buf_truncate(out, start);
	buf_append(out, t.data, t.len);
	buf_release(&t);
}

int
notify_compose_summary(const struct hl7_msg *m, const char *event,
    int retraction, int test, struct buf *out)
{
	char v[FIELD_MAX], w[FIELD_MAX], x[FIELD_MAX], line[FIELD_MAX * 3];
	struct buf t;
	const char *cw;
	size_t start = out->len;

	buf_init(&t, FIELD_MAX * 2);
	if (test)
		buf_append_str(out, "*** TEST MESSAGE: not about a real "
		    "patient ***\r\n\r\n");
	if (retraction)
		buf_printf(out, "CANCELLATION: %s. The earlier notification "
		    "for this visit was sent in error.\r\n\r\n",
		    notify_compose_event_words(event));
	else
		buf_printf(out, "ADT notification: %s\r\n\r\n",
		    notify_compose_event_words(event));

	notify_person(m, "PID-5", 0, v, sizeof(v));
	notify_line(out, "Patient:", v);
	notify_get(m, "PID-7.1", w, sizeof(w));
	if (w[0] != '\0') {
		notify_time_words(w, &t);
		if (strspn(w, "0123456789") >= 8 && t.len > 10)
			buf_truncate(&t, 10); /* the date only */
		notify_get(m, "PID-8", x, sizeof(x));
		if (x[0] != '\0')
			str_fmt(line, sizeof(line), "%s (sex %s)",
			    buf_cstr(&t), x);
		else
			str_lcpy(line, buf_cstr(&t), sizeof(line));
		notify_line(out, "Date of birth:", line);
		buf_reset(&t);
	}
	notify_get(m, "PID-3[1].1", v, sizeof(v));
	notify_get(m, "PID-3[1].4.1", w, sizeof(w));
	if (v[0] != '\0') {
		if (w[0] != '\0')
			str_fmt(line, sizeof(line), "%s (%s)", v, w);
		else
			str_lcpy(line, v, sizeof(line));
		notify_line(out, "Hospital patient ID:", line);
	}
	str_fmt(line, sizeof(line), "%s (%s)",
	    notify_compose_event_words(event), event);
	notify_line(out, "Event:", line);
	cw = notify_class_words(notify_get(m, "PV1-2", v, sizeof(v))[0]);
	if (cw != NULL)
		notify_line(out, "Patient class:", cw);
	notify_get(m, "EVN-2.1", v, sizeof(v));
	if (v[0] == '\0')
		notify_get(m, "MSH-7.1", v, sizeof(v));
	if (v[0] != '\0') {
		notify_time_words(v, &t);
		notify_line(out, "Event time:", buf_cstr(&t));
		buf_reset(&t);
	}
	/* Facility: PV2-23 treating facility name, PV1-3.9 location
	 * description, else the sending facility. */
	notify_get(m, "PV2-23.1", v, sizeof(v));
	if (v[0] == '\0')
		notify_get(m, "PV1-3.9", v, sizeof(v));
	if (v[0] == '\0')
		notify_get(m, "PV1-3.4.1", v, sizeof(v));
	if (v[0] == '\0')
		notify_get(m, "MSH-4.1", v, sizeof(v));
	notify_line(out, "Facility:", v);
	notify_get(m, "PV1-3.1", v, sizeof(v));
	notify_get(m, "PV1-3.2", w, sizeof(w));
	notify_get(m, "PV1-3.3", x, sizeof(x));
	if (v[0] != '\0') {
		str_fmt(line, sizeof(line), "%s%s%s%s%s", v,
		    w[0] ? " room " : "", w, x[0] ? " bed " : "", x);
		notify_line(out, "Location:", line);
	}
	notify_person(m, "PV1-7", 1, v, sizeof(v));
	notify_get(m, "PV1-7.1", w, sizeof(w));
	if (v[0] != '\0' || w[0] != '\0') {
		if (w[0] != '\0')
			str_fmt(line, sizeof(line), "%s%sNPI %s%s", v,
			    v[0] ? " (" : "", w, v[0] ? ")" : "");
		else
			str_lcpy(line, v, sizeof(line));
		notify_line(out, "Treating practitioner:", line);
	}
	notify_get(m, "PV2-3.2", v, sizeof(v));
	if (v[0] == '\0')
		notify_get(m, "PV2-3.1", v, sizeof(v));
	notify_line(out, "Reason:", v);
	notify_get(m, "DG1-3.2", v, sizeof(v));
	notify_get(m, "DG1-3.1", w, sizeof(w));
	if (v[0] != '\0' || w[0] != '\0') {
		str_fmt(line, sizeof(line), "%s%s%s%s", v, v[0] ? " (" : "", w,
		    v[0] ? ")" : "");
		notify_line(out, "Diagnosis:", line);
	}
	notify_get(m, "PV1-36.1", v, sizeof(v));
	if (v[0] != '\0') {
		const char *dw = notify_disposition_words(v);

		if (dw != NULL)
			str_fmt(line, sizeof(line), "%s (%s)", dw, v);
		else
			str_lcpy(line, v, sizeof(line));
		notify_line(out, "Disposition:", line);
	}
	notify_get(m, "PV1-45.1", v, sizeof(v));
	if (v[0] != '\0') {
		notify_time_words(v, &t);
		notify_line(out, "Discharge time:", buf_cstr(&t));
		buf_reset(&t);
	}
	notify_get(m, "MSH-10", v, sizeof(v));
	notify_line(out, "Message control ID:", v);
	buf_append_str(out, "\r\nThe HL7 message is attached (text/hl7v2).\r\n");
	notify_to_utf8(out, start);
	buf_release(&t);
	return out->len > start ? 0 : -1;
}

void
notify_compose_message_id(const char *domain, char *dst, size_t size)
{
	char a[QUEUE_ID_LEN + 1], b[QUEUE_ID_LEN + 1];

	/* Ordered by time (rows keyed by it append to their indexes), then
	 * 64 random bits. */
	queue_id_next(a);
	queue_id_new(b);
	str_fmt(dst, size, "<notify.%s%s@%s>", a, b, domain);
}

int
notify_compose_direct(const struct notify_direct *d, struct buf *out,
    struct err *e)
{
	char date[64], boundary[80];
	struct tm tm;
	time_t t = (time_t)d->now;
	size_t start = out->len;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	mime_boundary(boundary, sizeof(boundary));
	buf_printf(out, "From: <%s>\r\nTo: <%s>\r\nDate: %s\r\n"
	    "Message-ID: %s\r\n", d->from, d->to, date, d->message_id);
	if (d->digest)
		buf_printf(out, "Subject: ADT notifications: daily digest "
		    "(%zu)\r\n", d->n_hl7);
	else
		buf_printf(out, "Subject: ADT notification: %s\r\n",
		    notify_compose_event_words(d->event));
	buf_printf(out, "MIME-Version: 1.0\r\n"
	    "Disposition-Notification-To: <%s>\r\n"
	    "Disposition-Notification-Options: "
	    "X-DIRECT-FINAL-DESTINATION-DELIVERY=optional,true\r\n"
	    "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
	    "This is a multi-part message in MIME format.\r\n",
	    d->from, boundary);
	buf_printf(out, "--%s\r\nContent-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n", boundary);
	mime_canon_crlf(d->summary, d->summary_len, out);
	for (size_t i = 0; i < d->n_hl7; i++) {
		char name[32];

		if (d->n_hl7 == 1)
			str_lcpy(name, "adt.hl7", sizeof(name));
		else
			str_fmt(name, sizeof(name), "adt-%zu.hl7", i + 1);
		buf_printf(out, "--%s\r\nContent-Type: text/hl7v2; "
		    "name=\"%s\"\r\nContent-Disposition: attachment; "
		    "filename=\"%s\"\r\nContent-Transfer-Encoding: base64"
		    "\r\n\r\n", boundary, name, name);
		if (mime_base64_encode(d->hl7[i], d->hl7_len[i], out) != 0)
			break;
	}
	if (buf_printf(out, "--%s--\r\n", boundary) != 0 ||
	    out->len == start)
		return err_set(e, ERR_PERM, "notification over the size limit");
	return 0;
}
