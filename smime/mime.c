#include "smime/mime.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <libetpan/libetpan.h>

#include "core/str.h"
#include "core/xmalloc.h"

/* ---- Header sections ---- */

/* Where the header section of p[0..n) ends: the offset just after the
 * empty line, or n when there is none. The header section must stay
 * within MIME_HEADER_MAX. */
static int
header_end(const uint8_t *p, size_t n, size_t *end_r, struct err *e)
{
	size_t i = 0;

	/* An entity may start with the empty line (no header fields). */
	while (i < n) {
		const uint8_t *nl = memchr(p + i, '\n', n - i);
		size_t line_end = nl ? (size_t)(nl - p) : n;
		size_t content_end = line_end;

		if (content_end > i && p[content_end - 1] == '\r')
			content_end--;
		if (content_end == i) { /* the empty line */
			*end_r = nl ? line_end + 1 : n;
			return 0;
		}
		if (line_end > MIME_HEADER_MAX)
			return err_set(e, ERR_PROTO, "header section longer "
			    "than %d bytes", MIME_HEADER_MAX);
		i = nl ? line_end + 1 : n;
	}
	*end_r = n;
	return 0;
}

/* Parses the header fields of p[0..hdr_len) with libetpan. */
static int
parse_fields(const uint8_t *p, size_t hdr_len, struct mailimf_fields **f_r,
    struct err *e)
{
	size_t idx = 0;
	int r;

	*f_r = NULL;
	if (hdr_len > MIME_HEADER_MAX)
		return err_set(e, ERR_PROTO, "header section longer than %d "
		    "bytes", MIME_HEADER_MAX);
	r = mailimf_fields_parse((const char *)p, hdr_len, &idx, f_r);
	if (r == MAILIMF_ERROR_MEMORY)
		abort();
	if (r != MAILIMF_NO_ERROR || *f_r == NULL) {
		/* No parsable field at all: an empty field list. */
		*f_r = mailimf_fields_new_empty();
		if (*f_r == NULL)
			abort();
	}
	return 0;
}

static void
lower_copy(char *dst, size_t size, const char *src)
{
	str_lcpy(dst, src ? src : "", size);
	str_lower(dst);
}

static const char *
discrete_name(const struct mailmime_discrete_type *d)
{
	switch (d->dt_type) {
	case MAILMIME_DISCRETE_TYPE_TEXT:
		return "text";
	case MAILMIME_DISCRETE_TYPE_IMAGE:
		return "image";
	case MAILMIME_DISCRETE_TYPE_AUDIO:
		return "audio";
	case MAILMIME_DISCRETE_TYPE_VIDEO:
		return "video";
	case MAILMIME_DISCRETE_TYPE_APPLICATION:
		return "application";
	case MAILMIME_DISCRETE_TYPE_EXTENSION:
		return d->dt_extension ? d->dt_extension : "x-unknown";
	}
	return "x-unknown";
}

static const char *
composite_name(const struct mailmime_composite_type *c)
{
	switch (c->ct_type) {
	case MAILMIME_COMPOSITE_TYPE_MESSAGE:
		return "message";
	case MAILMIME_COMPOSITE_TYPE_MULTIPART:
		return "multipart";
	case MAILMIME_COMPOSITE_TYPE_EXTENSION:
		return c->ct_token ? c->ct_token : "x-unknown";
	}
	return "x-unknown";
}

static void
take_content(struct mime_entity *ent, const struct mailmime_content *ct)
{
	const char *top = "application";
	char type[MIME_TYPE_MAX];
	clistiter *it;

	if (ct->ct_type != NULL) {
		if (ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE &&
		    ct->ct_type->tp_data.tp_discrete_type != NULL)
			top = discrete_name(
			    ct->ct_type->tp_data.tp_discrete_type);
		else if (ct->ct_type->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE &&
		    ct->ct_type->tp_data.tp_composite_type != NULL)
			top = composite_name(
			    ct->ct_type->tp_data.tp_composite_type);
	}
	if (str_fmt(type, sizeof(type), "%s/%s", top,
	    ct->ct_subtype ? ct->ct_subtype : "") != 0)
		str_lcpy(type, "application/x-unknown", sizeof(type));
	lower_copy(ent->type, sizeof(ent->type), type);
	if (ct->ct_parameters == NULL)
		return;
	for (it = clist_begin(ct->ct_parameters); it != NULL;
	    it = clist_next(it)) {
		const struct mailmime_parameter *pa = clist_content(it);

		if (pa == NULL || pa->pa_name == NULL || pa->pa_value == NULL)
			continue;
		if (strcasecmp(pa->pa_name, "smime-type") == 0)
			lower_copy(ent->smime_type, sizeof(ent->smime_type),
			    pa->pa_value);
		else if (strcasecmp(pa->pa_name, "protocol") == 0)
			lower_copy(ent->protocol, sizeof(ent->protocol),
			    pa->pa_value);
		else if (strcasecmp(pa->pa_name, "micalg") == 0)
			lower_copy(ent->micalg, sizeof(ent->micalg),
			    pa->pa_value);
		else if (strcasecmp(pa->pa_name, "boundary") == 0)
			str_lcpy(ent->boundary, pa->pa_value,
			    sizeof(ent->boundary));
	}
}

int
mime_entity_parse(const uint8_t *p, size_t n, struct mime_entity *ent_r,
    struct err *e)
{
	struct mailimf_fields *f = NULL;
	struct mailmime_fields *mf = NULL;
	size_t hdr_len;
	clistiter *it;
	int r;

	memset(ent_r, 0, sizeof(*ent_r));
	str_lcpy(ent_r->type, "text/plain", sizeof(ent_r->type));
	if (header_end(p, n, &hdr_len, e) != 0)
		return -1;
	ent_r->body_off = hdr_len;
	if (parse_fields(p, hdr_len, &f, e) != 0)
		return -1;
	r = mailmime_fields_parse(f, &mf);
	if (r == MAILIMF_ERROR_MEMORY)
		abort();
	if (r == MAILIMF_NO_ERROR && mf != NULL) {
		for (it = clist_begin(mf->fld_list); it != NULL;
		    it = clist_next(it)) {
			const struct mailmime_field *fl = clist_content(it);

			if (fl->fld_type == MAILMIME_FIELD_TYPE &&
			    fl->fld_data.fld_content != NULL)
				take_content(ent_r, fl->fld_data.fld_content);
			else if (fl->fld_type ==
			    MAILMIME_FIELD_TRANSFER_ENCODING &&
			    fl->fld_data.fld_encoding != NULL) {
				switch (fl->fld_data.fld_encoding->enc_type) {
				case MAILMIME_MECHANISM_BASE64:
					ent_r->cte = MIME_CTE_BASE64;
					break;
				case MAILMIME_MECHANISM_QUOTED_PRINTABLE:
					ent_r->cte = MIME_CTE_QP;
					break;
				case MAILMIME_MECHANISM_TOKEN:
					ent_r->cte = MIME_CTE_UNKNOWN;
					break;
				default:
					ent_r->cte = MIME_CTE_IDENTITY;
					break;
				}
			}
		}
		mailmime_fields_free(mf);
	}
	mailimf_fields_free(f);
	return 0;
}

/* ---- Multipart ---- */

/* Is there a delimiter line "--boundary" starting at p + i (at the start of
 * a line)? Sets *close_r for "--boundary--" and *next_r to the start of
 * the following line. */
static bool
delimiter_at(const uint8_t *p, size_t n, size_t i, const char *b, size_t bl,
    bool *close_r, size_t *next_r)
{
	size_t j;

	if (n - i < bl + 2 || p[i] != '-' || p[i + 1] != '-' ||
	    memcmp(p + i + 2, b, bl) != 0)
		return false;
	j = i + 2 + bl;
	*close_r = false;
	if (n - j >= 2 && p[j] == '-' && p[j + 1] == '-') {
		*close_r = true;
		j += 2;
	}
	/* Only linear white space may follow (RFC 2046 transport padding). */
	while (j < n && (p[j] == ' ' || p[j] == '\t'))
		j++;
	if (j == n) {
		*next_r = n;
		return true;
	}
	if (p[j] == '\r' && j + 1 < n && p[j + 1] == '\n') {
		*next_r = j + 2;
		return true;
	}
	if (p[j] == '\n') {
		*next_r = j + 1;
		return true;
	}
	return false;
}

int
mime_multipart_split(const uint8_t *p, size_t n,
    const struct mime_entity *ent, struct mime_span *parts, size_t max,
    size_t *n_r, struct err *e)
{
	const char *b = ent->boundary;
	size_t bl = strlen(b), i = ent->body_off, start = 0, count = 0;
	bool in_part = false, closed;

	*n_r = 0;
	if (bl == 0 || bl > 70)
		return err_set(e, ERR_PROTO, "multipart without a usable "
		    "boundary");
	if (i > n)
		return err_set(e, ERR_PROTO, "multipart body out of range");
	while (i < n) {
		size_t next;

		if (delimiter_at(p, n, i, b, bl, &closed, &next)) {
			if (in_part) {
				/* The CRLF before the delimiter belongs to it. */
				size_t end = i;

				if (end > start && p[end - 1] == '\n')
					end--;
				if (end > start && p[end - 1] == '\r')
					end--;
				if (count == max)
					return err_set(e, ERR_PROTO, "more than "
					    "%zu body parts", max);
				parts[count].off = start;
				parts[count].len = end - start;
				count++;
			}
			if (closed) {
				*n_r = count;
				return 0;
			}
			in_part = true;
			start = next;
			i = next;
			continue;
		}
		{
			const uint8_t *nl = memchr(p + i, '\n', n - i);

			i = nl ? (size_t)(nl - p) + 1 : n;
		}
	}
	return err_set(e, ERR_PROTO, "multipart without its closing "
	    "delimiter");
}

/* ---- Decoding ---- */

/* Sextet values; 64 for '=', 65 for white space, 66 for anything else. */
static const uint8_t b64_tab[256] = {
	66, 66, 66, 66, 66, 66, 66, 66, 66, 65, 65, 66, 66, 65, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	65, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 62, 66, 66, 66, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 66, 66, 66, 64, 66, 66,
	66, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 66, 66, 66, 66, 66,
	66, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
};

static int
base64_decode(const uint8_t *p, size_t n, struct buf *out, struct err *e)
{
	uint32_t acc = 0;
	int bits = 0, pad = 0;
	uint8_t *d;

	if (buf_reserve(out, n / 4 * 3 + 3) != 0)
		return err_set(e, ERR_PROTO, "decoded body larger than %zu "
		    "bytes", out->max);
	d = out->data + out->len;
	for (size_t i = 0; i < n; i++) {
		uint8_t v = b64_tab[p[i]];

		if (v < 64 && pad == 0) {
			acc = (acc << 6) | v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				*d++ = (uint8_t)(acc >> bits);
			}
		} else if (v == 64) {
			pad++;
		} else if (v != 65) {
			return err_set(e, ERR_PROTO, "base64: unexpected "
			    "character at offset %zu", i);
		}
	}
	if (pad > 2 || bits >= 6)
		return err_set(e, ERR_PROTO, "base64: truncated");
	out->len = (size_t)(d - out->data);
	out->data[out->len] = '\0';
	return 0;
}

int
mime_body_decode(const uint8_t *p, size_t n, enum mime_cte cte,
    struct buf *out, struct err *e)
{
	switch (cte) {
	case MIME_CTE_IDENTITY:
		if (buf_append(out, p, n) != 0)
			return err_set(e, ERR_PROTO, "body larger than %zu "
			    "bytes", out->max);
		return 0;
	case MIME_CTE_BASE64:
		return base64_decode(p, n, out, e);
	case MIME_CTE_QP: {
		size_t idx = 0, rlen = 0;
		char *res = NULL;
		int r;

		r = mailmime_part_parse((const char *)p, n, &idx,
		    MAILMIME_MECHANISM_QUOTED_PRINTABLE, &res, &rlen);
		if (r == MAILIMF_ERROR_MEMORY)
			abort();
		if (r != MAILIMF_NO_ERROR || res == NULL)
			return err_set(e, ERR_PROTO, "quoted-printable: cannot "
			    "decode");
		r = buf_append(out, res, rlen);
		mmap_string_unref(res);
		if (r != 0)
			return err_set(e, ERR_PROTO, "body larger than %zu "
			    "bytes", out->max);
		return 0;
	}
	case MIME_CTE_UNKNOWN:
		break;
	}
	return err_set(e, ERR_PROTO, "unknown content-transfer-encoding");
}

/* ---- Message headers ---- */

static void
add_rcpt(struct mime_headers *h, const char *addr)
{
	if (addr == NULL || h->n_rcpts >= MIME_RCPT_MAX)
		return;
	h->rcpts = xreallocarray(h->rcpts, h->n_rcpts + 1, sizeof(*h->rcpts));
	h->rcpts[h->n_rcpts++] = xstrndup(addr, MIME_ADDR_MAX - 1);
}

static void
add_mailbox_list(struct mime_headers *h, const struct mailimf_mailbox_list *l)
{
	clistiter *it;

	if (l == NULL || l->mb_list == NULL)
		return;
	for (it = clist_begin(l->mb_list); it != NULL; it = clist_next(it)) {
		const struct mailimf_mailbox *mb = clist_content(it);

		if (mb != NULL)
			add_rcpt(h, mb->mb_addr_spec);
	}
}

static void
add_address_list(struct mime_headers *h, const struct mailimf_address_list *l)
{
	clistiter *it;

	if (l == NULL || l->ad_list == NULL)
		return;
	for (it = clist_begin(l->ad_list); it != NULL; it = clist_next(it)) {
		const struct mailimf_address *a = clist_content(it);

		if (a == NULL)
			continue;
		if (a->ad_type == MAILIMF_ADDRESS_MAILBOX &&
		    a->ad_data.ad_mailbox != NULL)
			add_rcpt(h, a->ad_data.ad_mailbox->mb_addr_spec);
		else if (a->ad_type == MAILIMF_ADDRESS_GROUP &&
		    a->ad_data.ad_group != NULL)
			add_mailbox_list(h, a->ad_data.ad_group->grp_mb_list);
	}
}

static void
collect_headers(const struct mailimf_fields *f, struct mime_headers *h)
{
	clistiter *it;

	for (it = clist_begin(f->fld_list); it != NULL; it = clist_next(it)) {
		const struct mailimf_field *fl = clist_content(it);

		switch (fl->fld_type) {
		case MAILIMF_FIELD_FROM:
			if (fl->fld_data.fld_from == NULL ||
			    fl->fld_data.fld_from->frm_mb_list == NULL ||
			    h->n_from > 0)
				break;
			for (clistiter *j = clist_begin(
			    fl->fld_data.fld_from->frm_mb_list->mb_list);
			    j != NULL; j = clist_next(j)) {
				const struct mailimf_mailbox *mb =
				    clist_content(j);

				if (h->n_from == 0 && mb != NULL &&
				    mb->mb_addr_spec != NULL)
					str_lcpy(h->from, mb->mb_addr_spec,
					    sizeof(h->from));
				h->n_from++;
			}
			break;
		case MAILIMF_FIELD_SENDER:
			if (fl->fld_data.fld_sender != NULL &&
			    fl->fld_data.fld_sender->snd_mb != NULL &&
			    fl->fld_data.fld_sender->snd_mb->mb_addr_spec !=
			    NULL && h->sender[0] == '\0')
				str_lcpy(h->sender, fl->fld_data.fld_sender->
				    snd_mb->mb_addr_spec, sizeof(h->sender));
			break;
		case MAILIMF_FIELD_TO:
			if (fl->fld_data.fld_to != NULL)
				add_address_list(h,
				    fl->fld_data.fld_to->to_addr_list);
			break;
		case MAILIMF_FIELD_CC:
			if (fl->fld_data.fld_cc != NULL)
				add_address_list(h,
				    fl->fld_data.fld_cc->cc_addr_list);
			break;
		case MAILIMF_FIELD_MESSAGE_ID:
			if (fl->fld_data.fld_message_id != NULL &&
			    fl->fld_data.fld_message_id->mid_value != NULL &&
			    h->message_id[0] == '\0')
				str_lcpy(h->message_id,
				    fl->fld_data.fld_message_id->mid_value,
				    sizeof(h->message_id));
			break;
		default:
			break;
		}
	}
}

int
mime_headers_parse(const uint8_t *p, size_t n, struct mime_headers *h,
    struct err *e)
{
	return mime_headers_parse_routing(p, n, h, NULL, NULL, e);
}

void
mime_headers_release(struct mime_headers *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->n_rcpts; i++)
		free(h->rcpts[i]);
	free(h->rcpts);
	memset(h, 0, sizeof(*h));
}

/* ---- Writing ---- */

static int
append_mmap(struct buf *out, MMAPString *s, struct err *e)
{
	if (buf_append(out, s->str, s->len) != 0)
		return err_set(e, ERR_PERM, "output larger than %zu bytes",
		    out->max);
	return 0;
}

static int
write_routing(struct mailimf_fields *f, const char *subject, struct buf *out,
    struct err *e)
{
	MMAPString *s;
	clistiter *it;
	int col = 0, rc = 0;
	bool replace = subject != NULL && subject[0] != '\0';

	if ((s = mmap_string_new("")) == NULL)
		abort();
	for (it = clist_begin(f->fld_list); it != NULL; it = clist_next(it)) {
		struct mailimf_field *fl = clist_content(it);
		bool keep = false;

		switch (fl->fld_type) {
		case MAILIMF_FIELD_FROM:
		case MAILIMF_FIELD_TO:
		case MAILIMF_FIELD_CC:
		case MAILIMF_FIELD_ORIG_DATE:
		case MAILIMF_FIELD_MESSAGE_ID:
			keep = true;
			break;
		case MAILIMF_FIELD_SUBJECT:
			keep = !replace;
			break;
		case MAILIMF_FIELD_OPTIONAL_FIELD:
			keep = fl->fld_data.fld_optional_field != NULL &&
			    str_casebegins(fl->fld_data.fld_optional_field->
			    fld_name, "Disposition-Notification-");
			break;
		default:
			break;
		}
		if (keep && mailimf_field_write_mem(s, &col, fl) !=
		    MAILIMF_NO_ERROR) {
			rc = err_set(e, ERR_PROTO, "cannot write a header "
			    "field");
			goto out;
		}
	}
	if (replace) {
		struct mailimf_field *fl = mailimf_field_new_custom(
		    xstrdup("Subject"), xstrdup(subject));

		if (fl == NULL)
			abort();
		if (mailimf_field_write_mem(s, &col, fl) != MAILIMF_NO_ERROR)
			rc = err_set(e, ERR_PROTO, "cannot write Subject");
		mailimf_field_free(fl);
		if (rc != 0)
			goto out;
	}
	rc = append_mmap(out, s, e);
out:
	mmap_string_free(s);
	return rc;
}

int
mime_headers_parse_routing(const uint8_t *p, size_t n, struct mime_headers *h,
    const char *subject, struct buf *routing, struct err *e)
{
	struct mailimf_fields *f = NULL;
	size_t hdr_len;
	int rc = 0;

	if (h != NULL)
		memset(h, 0, sizeof(*h));
	if (header_end(p, n, &hdr_len, e) != 0)
		return -1;
	if (parse_fields(p, hdr_len, &f, e) != 0)
		return -1;
	if (h != NULL)
		collect_headers(f, h);
	if (routing != NULL)
		rc = write_routing(f, subject, routing, e);
	mailimf_fields_free(f);
	return rc;
}

int
mime_write_routing_headers(const uint8_t *p, size_t n, const char *subject,
    struct buf *out, struct err *e)
{
	return mime_headers_parse_routing(p, n, NULL, subject, out, e);
}

int
mime_write_headers_except_content(const uint8_t *p, size_t n,
    struct buf *out)
{
	size_t i = 0;
	bool skip = false;

	while (i < n) {
		const uint8_t *nl = memchr(p + i, '\n', n - i);
		size_t next = nl ? (size_t)(nl - p) + 1 : n;
		size_t end = nl ? (size_t)(nl - p) : n;

		if (end > i && p[end - 1] == '\r')
			end--;
		if (end == i)
			break; /* the empty line */
		if (p[i] != ' ' && p[i] != '\t') {
			const char *line = (const char *)(p + i);
			size_t len = end - i;

			skip = (len >= 8 && strncasecmp(line, "Content-", 8) ==
			    0) || (len >= 13 && strncasecmp(line,
			    "MIME-Version:", 13) == 0);
		}
		if (!skip) {
			if (buf_append(out, p + i, end - i) != 0 ||
			    buf_append(out, "\r\n", 2) != 0)
				return -1;
		}
		i = next;
	}
	return 0;
}

int
mime_canon_crlf(const uint8_t *p, size_t n, struct buf *out)
{
	size_t i = 0;

	if (buf_reserve(out, n + 2) != 0)
		return -1;
	while (i < n) {
		const uint8_t *nl = memchr(p + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - p) : n;

		if (buf_append(out, p + i, end - i) != 0)
			return -1;
		if (nl == NULL)
			break;
		if ((end == 0 || p[end - 1] != '\r') && buf_putc(out, '\r') != 0)
			return -1;
		if (buf_putc(out, '\n') != 0)
			return -1;
		i = end + 1;
	}
	if (out->len < 2 || out->data[out->len - 2] != '\r' ||
	    out->data[out->len - 1] != '\n')
		if (buf_append(out, "\r\n", 2) != 0)
			return -1;
	return 0;
}

int
mime_write_content_type(struct buf *out, const char *type,
    const char *const *params, struct err *e)
{
	struct mailmime_content *ct;
	MMAPString *s;
	int col = 0, rc;

	ct = mailmime_content_new_with_str(type);
	if (ct == NULL)
		return err_set(e, ERR_INTERNAL, "bad content type %s", type);
	for (size_t i = 0; params != NULL && params[i] != NULL &&
	    params[i + 1] != NULL; i += 2) {
		struct mailmime_parameter *pa = mailmime_param_new_with_data(
		    (char *)params[i], (char *)params[i + 1]);

		if (pa == NULL || clist_append(ct->ct_parameters, pa) != 0)
			abort();
	}
	if ((s = mmap_string_new("")) == NULL)
		abort();
	if (mailmime_content_write_mem(s, &col, ct) != MAILIMF_NO_ERROR ||
	    ((s->len < 2 || s->str[s->len - 1] != '\n') &&
	    mmap_string_append(s, "\r\n") == NULL))
		rc = err_set(e, ERR_INTERNAL, "cannot write Content-Type");
	else
		rc = append_mmap(out, s, e);
	mmap_string_free(s);
	mailmime_content_free(ct);
	return rc;
}

int
mime_base64_encode(const uint8_t *p, size_t n, struct buf *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t groups = (n + 2) / 3, lines = (groups + 18) / 19;
	size_t i = 0, full = n - n % 57;
	uint8_t *d;

	if (buf_reserve(out, groups * 4 + lines * 2 + 2) != 0)
		return -1;
	d = out->data + out->len;
	/* Whole lines: 57 bytes make 76 characters. */
	for (; i < full; i += 57) {
		for (size_t j = i; j < i + 57; j += 3) {
			uint32_t v = (uint32_t)p[j] << 16 |
			    (uint32_t)p[j + 1] << 8 | p[j + 2];

			d[0] = (uint8_t)tab[v >> 18];
			d[1] = (uint8_t)tab[(v >> 12) & 63];
			d[2] = (uint8_t)tab[(v >> 6) & 63];
			d[3] = (uint8_t)tab[v & 63];
			d += 4;
		}
		*d++ = '\r';
		*d++ = '\n';
	}
	/* The last, shorter line. */
	if (i < n) {
		for (; i < n; i += 3) {
			size_t left = n - i;
			uint32_t v = (uint32_t)p[i] << 16;

			if (left > 1)
				v |= (uint32_t)p[i + 1] << 8;
			if (left > 2)
				v |= p[i + 2];
			*d++ = (uint8_t)tab[v >> 18];
			*d++ = (uint8_t)tab[(v >> 12) & 63];
			*d++ = left > 1 ? (uint8_t)tab[(v >> 6) & 63] : '=';
			*d++ = left > 2 ? (uint8_t)tab[v & 63] : '=';
		}
		*d++ = '\r';
		*d++ = '\n';
	}
	out->len = (size_t)(d - out->data);
	out->data[out->len] = '\0';
	return 0;
}

/* Boundaries need to be unique, not secret: a per-thread xorshift128+
 * seeded from the kernel once (RAND_bytes cost 2% of a seal). */
static __thread uint64_t boundary_state[2];

void
mime_boundary(char *dst, size_t size)
{
	uint64_t *st = boundary_state;
	uint8_t rnd[16];
	char hex[33];

	if (st[0] == 0 && st[1] == 0) {
		while (getrandom(st, 2 * sizeof(*st), 0) !=
		    (ssize_t)(2 * sizeof(*st)))
			;
		st[0] |= 1;
	}
	for (int i = 0; i < 2; i++) {
		uint64_t x = st[0], y = st[1], r;

		st[0] = y;
		x ^= x << 23;
		st[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
		r = st[1] + y;
		memcpy(rnd + 8 * i, &r, 8);
	}
	str_hex(hex, rnd, sizeof(rnd));
	str_fmt(dst, size, "----=_dg_%s", hex);
}
