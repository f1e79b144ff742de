#include "adt/ack.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/str.h"

const char *
ack_code_name(enum ack_code c)
{
	switch (c) {
	case ACK_AA: return "AA";
	case ACK_AE: return "AE";
	case ACK_AR: return "AR";
	case ACK_CA: return "CA";
	case ACK_CE: return "CE";
	case ACK_CR: return "CR";
	}
	return "AR";
}

int
ack_mode_parse(const char *s, enum ack_mode *m_r)
{
	if (strcmp(s, "auto") == 0)
		*m_r = ACK_MODE_AUTO;
	else if (strcmp(s, "original") == 0)
		*m_r = ACK_MODE_ORIGINAL;
	else if (strcmp(s, "enhanced") == 0)
		*m_r = ACK_MODE_ENHANCED;
	else
		return -1;
	return 0;
}

bool
ack_decide(enum ack_mode mode, const struct hl7_header *h,
    enum ack_code outcome, enum ack_code *code_r)
{
	bool enhanced = mode == ACK_MODE_ENHANCED ||
	    (mode == ACK_MODE_AUTO && h != NULL &&
	    (h->accept_ack[0] != '\0' || h->app_ack[0] != '\0'));
	bool ok = outcome == ACK_AA || outcome == ACK_CA;

	if (!enhanced) {
		*code_r = outcome == ACK_CA ? ACK_AA : outcome == ACK_CE ?
		    ACK_AE : outcome == ACK_CR ? ACK_AR : outcome;
		return true;
	}
	*code_r = outcome == ACK_AA ? ACK_CA : outcome == ACK_AE ? ACK_CE :
	    outcome == ACK_AR ? ACK_CR : outcome;
	if (h != NULL) {
		const char *a = h->accept_ack;

		if (strcmp(a, "NE") == 0)
			return false;
		if (strcmp(a, "ER") == 0 && ok)
			return false;
		if (strcmp(a, "SU") == 0 && !ok)
			return false;
	}
	return true;
}

static const uint8_t *
field(const struct hl7_msg *m, unsigned f, unsigned comp, size_t *n_r)
{
	const uint8_t *p;

	if (m == NULL || hl7_msg_get_at(m, 0, f, comp ? 1 : 0, comp, 0, &p,
	    n_r) != 1) {
		*n_r = 0;
		return (const uint8_t *)"";
	}
	return p;
}

static int
put_text(struct buf *out, const struct hl7_delims *d, const char *s)
{
	return hl7_escape(d, s, strlen(s), out);
}

int
ack_build(const struct hl7_msg *orig, enum ack_code code,
    const struct hl7_problem *probs, size_t nprobs, const struct ack_opts *o,
    struct buf *out, struct err *e)
{
	struct hl7_delims dd;
	const struct hl7_delims *d;
	const uint8_t *p;
	size_t n, start = out->len;
	char fs;
	int rc = 0;

	if (orig != NULL) {
		d = hl7_msg_delims(orig);
	} else {
		hl7_delims_default(&dd);
		d = &dd;
	}
	fs = d->field;
	{
		const char enc[5] = {d->comp, d->rep, d->esc, d->sub, '\0'};

		rc |= buf_append_str(out, "MSH");
		rc |= buf_putc(out, (uint8_t)fs);
		rc |= buf_append_str(out, enc);
	}
	/* MSH-3/4: the original's receiver, else ours. */
	rc |= buf_putc(out, (uint8_t)fs);
	p = field(orig, 5, 0, &n);
	if (n > 0)
		rc |= buf_append(out, p, n);
	else if (o->app)
		rc |= put_text(out, d, o->app);
	rc |= buf_putc(out, (uint8_t)fs);
	p = field(orig, 6, 0, &n);
	if (n > 0)
		rc |= buf_append(out, p, n);
	else if (o->facility)
		rc |= put_text(out, d, o->facility);
	/* MSH-5/6: the original's sender. */
	for (unsigned f = 3; f <= 4; f++) {
		rc |= buf_putc(out, (uint8_t)fs);
		p = field(orig, f, 0, &n);
		rc |= buf_append(out, p, n);
	}
	rc |= buf_putc(out, (uint8_t)fs);
	rc |= put_text(out, d, o->timestamp);
	rc |= buf_putc(out, (uint8_t)fs);
	rc |= buf_putc(out, (uint8_t)fs);
	rc |= buf_append_str(out, "ACK");
	rc |= buf_putc(out, (uint8_t)d->comp);
	p = field(orig, 9, 2, &n);
	rc |= buf_append(out, p, n);
	rc |= buf_putc(out, (uint8_t)d->comp);
	rc |= buf_append_str(out, "ACK");
	rc |= buf_putc(out, (uint8_t)fs);
	rc |= put_text(out, d, o->control_id);
	rc |= buf_putc(out, (uint8_t)fs);
	p = field(orig, 11, 0, &n);
	if (n > 0)
		rc |= buf_append(out, p, n);
	else
		rc |= buf_append_str(out, "P");
	rc |= buf_putc(out, (uint8_t)fs);
	p = field(orig, 12, 0, &n);
	if (n > 0)
		rc |= buf_append(out, p, n);
	else
		rc |= buf_append_str(out, "2.5.1");
	rc |= buf_putc(out, '\r');

	rc |= buf_append_str(out, "MSA");
	rc |= buf_putc(out, (uint8_t)fs);
	rc |= buf_append_str(out, ack_code_name(code));
	rc |= buf_putc(out, (uint8_t)fs);
	p = field(orig, 10, 0, &n);
	rc |= buf_append(out, p, n);
	rc |= buf_putc(out, '\r');

	for (size_t i = 0; i < nprobs; i++) {
		const struct hl7_problem *pr = &probs[i];
		char num[16];

		rc |= buf_append_str(out, "ERR");
		rc |= buf_putc(out, (uint8_t)fs);
		rc |= buf_putc(out, (uint8_t)fs);
		if (pr->seg[0] != '\0') {
			const unsigned parts[4] = {pr->seq, pr->field, pr->rep,
			    pr->comp};
			int last = -1;

			rc |= put_text(out, d, pr->seg);
			for (int k = 0; k < 4; k++)
				if (parts[k] > 0)
					last = k;
			for (int k = 0; k <= last; k++) {
				rc |= buf_putc(out, (uint8_t)d->comp);
				if (parts[k] > 0) {
					str_fmt(num, sizeof(num), "%u",
					    parts[k]);
					rc |= buf_append_str(out, num);
				}
			}
		}
		rc |= buf_putc(out, (uint8_t)fs);
		str_fmt(num, sizeof(num), "%d", pr->code);
		rc |= buf_append_str(out, num);
		rc |= buf_putc(out, (uint8_t)d->comp);
		rc |= put_text(out, d, hl7_validate_code_text(pr->code));
		rc |= buf_putc(out, (uint8_t)d->comp);
		rc |= buf_append_str(out, "HL70357");
		rc |= buf_putc(out, (uint8_t)fs);
		rc |= buf_putc(out, (uint8_t)(pr->severity ? pr->severity :
		    'E'));
		for (int k = 0; k < 4; k++)
			rc |= buf_putc(out, (uint8_t)fs);
		rc |= put_text(out, d, pr->text);
		rc |= buf_putc(out, '\r');
	}
	if (rc != 0) {
		buf_truncate(out, start);
		return err_set(e, ERR_INTERNAL, "acknowledgement too large");
	}
	return 0;
}

int
ack_build_too_large(const void *head, size_t n, uint64_t size,
    size_t max, enum ack_mode mode, const struct ack_opts *o,
    struct buf *out, struct err *e)
{
	const uint8_t *p = head;
	struct hl7_msg *m = NULL;
	struct hl7_header h;
	struct hl7_problem pr;
	enum ack_code code;
	size_t i = 0, end;
	int rc;

	/* The MSH segment alone: the rest of the head may end mid-segment. */
	while (i < n && (p[i] == '\r' || p[i] == '\n'))
		i++;
	for (end = i; end < n && p[end] != '\r' && p[end] != '\n'; end++)
		;
	if (end == n)
		return err_set(e, ERR_PERM, "no complete MSH segment within "
		    "the first %zu bytes", n);
	if (hl7_parse(p + i, end - i, &m, e) != 0)
		return -1;
	if (strcmp(hl7_msg_seg_name(m, 0), "MSH") != 0) {
		hl7_msg_free(&m);
		return err_set(e, ERR_PERM, "the frame does not begin with MSH");
	}
	hl7_validate_header(m, &h);
	/* AE, not AR: the same bytes sent again cannot be taken either (as
	 * the intake answers a message it cannot parse for its size). */
	if (strcmp(h.type, "ACK") == 0 ||
	    !ack_decide(mode, &h, ACK_AE, &code)) {
		hl7_msg_free(&m); /* never acknowledge an ACK; or MSH-15 */
		return 0;
	}
	memset(&pr, 0, sizeof(pr));
	/* Table 0357 has no code for a message over the receiver's size
	 * limit. 102 (data type error) is the closest of the codes listed in
	 * the spec digest: a length over the allowed maximum is a data type
	 * (length) violation, here of the message as a whole, so ERR-2 is
	 * empty. 207 (application internal error) would wrongly blame the
	 * receiver; 100 is about segment order. */
	pr.code = HL7_DATA_TYPE;
	pr.severity = 'E';
	str_fmt(pr.text, sizeof(pr.text), "message too large: %llu bytes, "
	    "the limit is %zu", (unsigned long long)size, max);
	rc = ack_build(m, code, &pr, 1, o, out, e);
	hl7_msg_free(&m);
	return rc == 0 ? 1 : -1;
}

static void
copy_text(const struct hl7_msg *m, size_t seg, unsigned f, unsigned comp,
    char *dst, size_t size, bool unescape)
{
	const uint8_t *p;
	size_t n;

	dst[0] = '\0';
	if (hl7_msg_get_at(m, seg, f, comp ? 1 : 0, comp, 0, &p, &n) != 1)
		return;
	if (unescape) {
		struct buf b;

		buf_init(&b, size - 1);
		(void)hl7_unescape(hl7_msg_delims(m), p, n, &b);
		str_lcpy(dst, buf_cstr(&b), size);
		buf_release(&b);
		return;
	}
	if (n >= size)
		n = size - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

int
ack_parse(const void *p, size_t n, struct ack_info *a, struct err *e)
{
	struct hl7_msg *m = NULL;
	long msa;
	size_t nsegs;

	memset(a, 0, sizeof(*a));
	if (hl7_parse(p, n, &m, e) != 0)
		return -1;
	msa = hl7_msg_find_seg(m, "MSA", 1);
	if (msa < 0) {
		hl7_msg_free(&m);
		return err_set(e, ERR_PERM, "acknowledgement without MSA");
	}
	copy_text(m, (size_t)msa, 1, 0, a->code, sizeof(a->code), false);
	copy_text(m, (size_t)msa, 2, 0, a->control_id, sizeof(a->control_id),
	    false);
	copy_text(m, 0, 10, 0, a->ack_control_id, sizeof(a->ack_control_id),
	    false);
	nsegs = hl7_msg_nsegs(m);
	for (size_t i = 0; i < nsegs && a->nerrs < ACK_INFO_MAX_ERRS; i++) {
		char code[16], sev[4];
		int64_t v = 0;

		if (strcmp(hl7_msg_seg_name(m, i), "ERR") != 0)
			continue;
		copy_text(m, i, 2, 0, a->errs[a->nerrs].location,
		    sizeof(a->errs[0].location), false);
		copy_text(m, i, 3, 1, code, sizeof(code), false);
		if (str_to_i64(code, 0, 999999, &v) == 0)
			a->errs[a->nerrs].code = (int)v;
		copy_text(m, i, 4, 0, sev, sizeof(sev), false);
		a->errs[a->nerrs].severity = sev[0] ? sev[0] : 'E';
		copy_text(m, i, 8, 0, a->errs[a->nerrs].text,
		    sizeof(a->errs[0].text), true);
		if (a->errs[a->nerrs].text[0] == '\0')
			copy_text(m, i, 3, 2, a->errs[a->nerrs].text,
			    sizeof(a->errs[0].text), true);
		a->nerrs++;
	}
	hl7_msg_free(&m);
	return 0;
}

void
ack_timestamp(int64_t now_ms, char *dst, size_t size)
{
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(dst, size, "%Y%m%d%H%M%S",
	    &tm) == 0)
		str_lcpy(dst, "19700101000000", size);
}
