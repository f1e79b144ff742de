#include "adt/intake.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adt/hl7.h"
#include "adt/hl7_reader.h"
#include "adt/hl7_validate.h"
#include "core/log.h"
#include "core/str.h"
#include "core/xmalloc.h"

struct intake {
	struct store_writer *writer;
	struct loop *loop;
	size_t offload_bytes;
	enum ack_mode ack_mode;
	char *ack_app;
	char *ack_facility;
	size_t max_msg;
	unsigned seq;
};

struct item {
	struct hl7_msg *m;          /* NULL when it did not parse */
	struct hl7_validation v;
	char parse_error[ERR_MSG_MAX];
	bool store;                 /* valid ADT: to be written */
	bool dup;
	int64_t id;
	size_t size;
};

struct job {
	struct intake *in;
	uint8_t *raw;       /* input kept for a worker to parse */
	size_t raw_len;
	struct item *items;
	size_t n;
	bool batch;
	bool cancelled;     /* the loop stopped before the worker parsed */
	char *channel;
	char *sender;
	int64_t now_ms;
	intake_done_fn *done;
	void *arg;
};

struct intake *
intake_new(const struct intake_opts *o)
{
	struct intake *in = xcalloc(1, sizeof(*in));

	in->writer = o->writer;
	in->loop = o->loop;
	in->offload_bytes = o->offload_bytes ? o->offload_bytes : 64 * 1024;
	in->ack_mode = o->ack_mode;
	in->ack_app = xstrdup(o->ack_app ? o->ack_app : "DIRECTGATE");
	in->ack_facility = xstrdup(o->ack_facility ? o->ack_facility : "");
	in->max_msg = o->max_msg ? o->max_msg : HL7_MAX_BYTES;
	return in;
}

void
intake_free(struct intake **ip)
{
	struct intake *in;

	if (ip == NULL || (in = *ip) == NULL)
		return;
	free(in->ack_app);
	free(in->ack_facility);
	free(in);
	*ip = NULL;
}

static void
job_free(struct job *j)
{
	free(j->raw);
	for (size_t i = 0; i < j->n; i++)
		hl7_msg_free(&j->items[i].m);
	free(j->items);
	free(j->channel);
	free(j->sender);
	free(j);
}

void
intake_ack_opts(struct intake *in, int64_t now_ms,
    char ts[INTAKE_ACK_TS_MAX], char cid[INTAKE_ACK_CID_MAX],
    struct ack_opts *o)
{
	unsigned n = __atomic_fetch_add(&in->seq, 1, __ATOMIC_RELAXED);

	ack_timestamp(now_ms, ts, INTAKE_ACK_TS_MAX);
	str_fmt(cid, INTAKE_ACK_CID_MAX, "DG%lld%05u", (long long)now_ms,
	    n % 100000);
	o->control_id = cid;
	o->timestamp = ts;
	o->app = in->ack_app;
	o->facility = in->ack_facility;
}

static struct job *
job_alloc(struct intake *in, const char *channel, const char *sender,
    int64_t now_ms, intake_done_fn *done, void *arg)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->in = in;
	j->channel = xstrdup(channel);
	j->sender = xstrdup(sender ? sender : "");
	j->now_ms = now_ms;
	j->done = done;
	j->arg = arg;
	return j;
}

/* Parses and validates every message of raw into the job's items. */
static void
job_parse(struct job *j, const void *raw, size_t n)
{
	struct hl7_split s;
	struct err e = {0};

	if (hl7_reader_split(raw, n, j->in->max_msg, &s, &e) < 1) {
		/* Nothing usable: one unparseable item. */
		j->n = 1;
		j->items = xcalloc(1, sizeof(*j->items));
		str_lcpy(j->items[0].parse_error, e.kind ? e.msg :
		    "no HL7 message", sizeof(j->items[0].parse_error));
		j->items[0].size = n;
		return;
	}
	j->n = s.count;
	j->batch = s.count > 1 || s.batch_headers > 0;
	j->items = xcalloc(s.count, sizeof(*j->items));
	for (size_t i = 0; i < s.count; i++) {
		struct item *it = &j->items[i];

		it->size = s.lens[i];
		if (hl7_parse(s.data + s.offs[i], s.lens[i], &it->m, &e) != 0) {
			str_lcpy(it->parse_error, e.msg,
			    sizeof(it->parse_error));
			continue;
		}
		hl7_validate(it->m, &it->v);
		it->store = it->v.nerrors == 0 && !it->v.is_ack;
	}
	hl7_reader_split_release(&s);
}

static bool
job_needs_store(const struct job *j)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->items[i].store)
			return true;
	return false;
}

static const char insert_sql[] =
    "INSERT INTO adt_event (received, channel, sender, facility,"
    " control_id, msg_type, event, structure, version, processing_id,"
    " size, raw, state, state_changed)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'received', ?)"
    " ON CONFLICT (facility, control_id) DO NOTHING";

static int
job_write(struct store *s, void *arg, struct err *e)
{
	struct job *j = arg;

	for (size_t i = 0; i < j->n; i++) {
		struct item *it = &j->items[i];
		const struct hl7_header *h = &it->v.hdr;
		const uint8_t *p;
		size_t n;

		if (!it->store)
			continue;
		p = hl7_msg_data(it->m, &n);
		if (store_run(s, e, insert_sql, "IsssssssssIbI",
		    (int64_t)j->now_ms, j->channel, j->sender, h->facility,
		    h->control_id, h->type, h->event, h->structure, h->version,
		    h->processing[0] ? h->processing : "P", (int64_t)n,
		    (const void *)p, n, (int64_t)j->now_ms) != 0)
			return -1;
		if (store_changes(s) == 0) {
			it->dup = true;
			it->id = 0;
		} else {
			it->dup = false;
			it->id = store_last_rowid(s);
		}
	}
	return 0;
}

/* The ERR of a message that cannot be parsed, by cause (the reasons of
 * adt/hl7.c and adt/hl7_reader.c), with table 0357 codes from the spec
 * digest: unusable delimiters in MSH-1/MSH-2 are 102 (data type error) at
 * that field; a message, line or count over a limit is 102 too (a length
 * over the allowed maximum, of the message as a whole: no location; the
 * table has no size code, and 207 would blame the receiver); anything
 * else (no MSH first, a segment before MSH, an empty segment) is 100
 * (segment sequence error). */
static void
parse_problem(const char *why, struct hl7_problem *pr)
{
	static const char *const size_words[] = {"larger than", "too large",
	    "more than", "too long", NULL};

	pr->code = HL7_SEGMENT_SEQUENCE;
	if (strstr(why, "MSH-1") != NULL &&
	    strstr(why, "MSH-2") == NULL) {
		pr->code = HL7_DATA_TYPE;
		str_lcpy(pr->seg, "MSH", sizeof(pr->seg));
		pr->seq = 1;
		pr->field = 1;
		return;
	}
	if (strstr(why, "MSH-2") != NULL) {
		pr->code = HL7_DATA_TYPE;
		str_lcpy(pr->seg, "MSH", sizeof(pr->seg));
		pr->seq = 1;
		pr->field = 2;
		return;
	}
	for (size_t i = 0; size_words[i] != NULL; i++)
		if (strstr(why, size_words[i]) != NULL) {
			pr->code = HL7_DATA_TYPE;
			return;
		}
}

/* Builds one message's ACK into out; returns the outcome. */
static enum ack_code
item_ack(struct job *j, struct item *it, int store_status, struct buf *out,
    bool *send_r)
{
	struct hl7_problem extra;
	const struct hl7_problem *probs = NULL;
	size_t nprobs = 0;
	enum ack_code outcome, code;
	struct ack_opts o;
	char ts[INTAKE_ACK_TS_MAX], cid[INTAKE_ACK_CID_MAX];

	memset(&extra, 0, sizeof(extra));
	if (j->cancelled) {
		outcome = ACK_AR;
		extra.code = HL7_INTERNAL;
		extra.severity = 'E';
		str_lcpy(extra.text, "shutting down; resend later",
		    sizeof(extra.text));
		probs = &extra;
		nprobs = 1;
	} else if (it->m == NULL) {
		outcome = ACK_AE;
		parse_problem(it->parse_error, &extra);
		extra.severity = 'E';
		str_fmt(extra.text, sizeof(extra.text),
		    "message cannot be parsed: %s", it->parse_error);
		probs = &extra;
		nprobs = 1;
	} else if (it->v.is_ack) {
		*send_r = false;
		return ACK_AA;
	} else if (!it->store) {
		outcome = ACK_AE;
		probs = it->v.problems;
		nprobs = it->v.nproblems;
	} else if (store_status != 0) {
		outcome = ACK_AR;
		str_lcpy(extra.seg, "", sizeof(extra.seg));
		extra.code = HL7_INTERNAL;
		extra.severity = 'E';
		str_lcpy(extra.text, "message could not be stored; resend later",
		    sizeof(extra.text));
		probs = &extra;
		nprobs = 1;
	} else {
		outcome = ACK_AA;
		probs = it->v.problems; /* warnings */
		nprobs = it->v.nproblems;
		if (it->dup) {
			hl7_validate_add(&it->v, "MSH", 1, 10, 0, 0,
			    HL7_DUPLICATE_KEY, 'I',
			    "duplicate of a stored message (same MSH-4 and "
			    "MSH-10); not stored again");
			nprobs = it->v.nproblems;
		}
	}
	*send_r = ack_decide(j->in->ack_mode, it->m ? &it->v.hdr : NULL,
	    outcome, &code);
	if (j->batch)
		*send_r = true;
	if (!*send_r)
		return outcome;
	intake_ack_opts(j->in, j->now_ms, ts, cid, &o);
	(void)ack_build(it->m, code, probs, nprobs, &o, out, NULL);
	return outcome;
}

static void
log_item(const struct job *j, const struct item *it, enum ack_code outcome)
{
	char id[64], type[40], snd[128];

	log_safe(id, sizeof(id), it->m ? it->v.hdr.control_id : "-");
	log_safe(snd, sizeof(snd), j->sender);
	if (it->m) {
		char t[40];

		str_fmt(t, sizeof(t), "%s^%s", it->v.hdr.type,
		    it->v.hdr.event);
		log_safe(type, sizeof(type), t);
	} else {
		str_lcpy(type, "-", sizeof(type));
	}
	log_info(id, "event=adt_intake channel=%s sender=%s type=%s size=%zu "
	    "ack=%s%s errors=%zu rowid=%lld%s%s%s", j->channel, snd,
	    type, it->size, it->v.is_ack ? "none" : ack_code_name(outcome),
	    it->dup ? " duplicate=yes" : "", it->v.nerrors,
	    (long long)it->id, it->m == NULL ? " parse=failed reason=\"" : "",
	    it->m == NULL ? it->parse_error : "", it->m == NULL ? "\"" : "");
}

static void
job_finish(struct job *j, int status)
{
	struct intake_result r;
	struct buf out;
	bool any_ar = false, any_ae = false;

	memset(&r, 0, sizeof(r));
	buf_init(&out, BUF_UNLIMITED);
	if (j->batch) {
		char ts[32];

		ack_timestamp(j->now_ms, ts, sizeof(ts));
		buf_printf(&out, "BHS|^~\\&|");
		hl7_escape(&(struct hl7_delims){'|', '^', '~', '\\', '&'},
		    j->in->ack_app, strlen(j->in->ack_app), &out);
		buf_printf(&out, "||||%s\r", ts);
	}
	r.messages = (unsigned)j->n;
	for (size_t i = 0; i < j->n; i++) {
		struct item *it = &j->items[i];
		bool send = true;
		enum ack_code oc;

		if (status != 0) {
			it->id = 0;
			it->dup = false;
		}
		oc = item_ack(j, it, status, &out, &send);

		if (oc == ACK_AR)
			any_ar = true;
		else if (oc == ACK_AE)
			any_ae = true;
		if (it->store && status == 0) {
			if (it->dup)
				r.duplicates++;
			else {
				r.stored++;
				if (r.first_id == 0)
					r.first_id = it->id;
			}
		}
		if (!j->batch)
			r.send = send;
		log_item(j, it, oc);
	}
	if (j->batch) {
		buf_printf(&out, "BTS|%zu\r", j->n);
		r.send = true;
	}
	r.outcome = any_ar ? ACK_AR : any_ae ? ACK_AE : ACK_AA;
	r.ack = out.data ? out.data : (const uint8_t *)"";
	r.ack_len = out.len;
	j->done(j->arg, &r);
	buf_release(&out);
	job_free(j);
}

static void
job_done(void *arg, int status, const struct err *e)
{
	struct job *j = arg;

	if (status != 0)
		log_warn(NULL, "event=adt_store_failed kind=%s reason=\"%s\"",
		    err_kind_name(e ? e->kind : ERR_INTERNAL),
		    e ? e->msg : "");
	job_finish(j, status);
}

static void
job_parse_work(void *arg)
{
	struct job *j = arg;

	job_parse(j, j->raw, j->raw_len);
}

static void
job_parse_after(void *arg, bool cancelled)
{
	struct job *j = arg;

	free(j->raw);
	j->raw = NULL;
	if (cancelled) {
		/* The loop stopped first: AR, the sender may resend. */
		j->cancelled = true;
		if (j->n == 0) {
			j->n = 1;
			j->items = xcalloc(1, sizeof(*j->items));
		}
		job_finish(j, -1);
		return;
	}
	if (!job_needs_store(j)) {
		job_finish(j, 0);
		return;
	}
	store_writer_submit(j->in->writer, job_write, job_done, j);
}

void
intake_submit(struct intake *in, const void *raw, size_t n,
    const char *channel, const char *sender, int64_t now_ms,
    intake_done_fn *done, void *arg)
{
	struct job *j = job_alloc(in, channel, sender, now_ms, done, arg);

	if (in->loop != NULL && n >= in->offload_bytes) {
		j->raw = xmemdup(raw, n);
		j->raw_len = n;
		if (loop_work(in->loop, job_parse_work, job_parse_after, j) ==
		    0)
			return;
		free(j->raw);
		j->raw = NULL;
	}
	job_parse(j, raw, n);
	if (!job_needs_store(j)) {
		job_finish(j, 0);
		return;
	}
	store_writer_submit(in->writer, job_write, job_done, j);
}

void
intake_submit_wait(struct intake *in, const void *raw, size_t n,
    const char *channel, const char *sender, int64_t now_ms,
    intake_done_fn *done, void *arg)
{
	struct job *j = job_alloc(in, channel, sender, now_ms, done, arg);
	struct err e = {0};
	int status = 0;

	job_parse(j, raw, n);
	if (job_needs_store(j)) {
		status = store_writer_run(in->writer, job_write, j, &e);
		if (status != 0)
			log_warn(NULL, "event=adt_store_failed kind=%s "
			    "reason=\"%s\"", err_kind_name(e.kind), e.msg);
	}
	job_finish(j, status);
}

static const char list_cols[] =
    "SELECT id, received, channel, sender, facility, control_id, msg_type,"
    " event, version, processing_id, size, state FROM adt_event";

static void
row_from(struct store_stmt *st, struct intake_row *r)
{
	r->id = store_col_int(st, 0);
	r->received = store_col_int(st, 1);
	r->channel = store_col_text(st, 2);
	r->sender = store_col_text(st, 3);
	r->facility = store_col_text(st, 4);
	r->control_id = store_col_text(st, 5);
	r->msg_type = store_col_text(st, 6);
	r->event = store_col_text(st, 7);
	r->version = store_col_text(st, 8);
	r->processing_id = store_col_text(st, 9);
	r->size = store_col_int(st, 10);
	r->state = store_col_text(st, 11);
}

int
intake_list(struct store *s, const char *state, unsigned limit,
    intake_row_fn *fn, void *arg, struct err *e)
{
	char sql[512];
	struct store_stmt *st;
	int rc;

	str_fmt(sql, sizeof(sql), "%s WHERE (?1 IS NULL OR state = ?1)"
	    " ORDER BY id DESC LIMIT ?2", list_cols);
	if ((st = store_prepare(s, sql, e)) == NULL)
		return -1;
	if (store_bindv(st, "sI", state, limit ? (int64_t)limit : (int64_t)-1) != 0) {
		store_stmt_done(st);
		return err_set(e, ERR_INTERNAL, "bind failed");
	}
	while ((rc = store_step(st, e)) == 1) {
		struct intake_row r;

		row_from(st, &r);
		if (fn(arg, &r) != 0) {
			rc = 0;
			break;
		}
	}
	store_stmt_done(st);
	return rc < 0 ? -1 : 0;
}

int
intake_get(struct store *s, int64_t id, intake_row_fn *fn, void *arg,
    struct buf *raw, struct err *e)
{
	char sql[512];
	struct store_stmt *st;
	int rc;

	str_fmt(sql, sizeof(sql), "SELECT id, received, channel, sender,"
	    " facility, control_id, msg_type, event, version, processing_id,"
	    " size, state, raw FROM adt_event WHERE id = ?");
	if ((st = store_prepare(s, sql, e)) == NULL)
		return -1;
	store_bind_int(st, 1, id);
	rc = store_step(st, e);
	if (rc == 1) {
		struct intake_row r;
		size_t n;
		const void *p;

		row_from(st, &r);
		p = store_col_blob(st, 12, &n);
		if (raw != NULL && n > 0 && buf_append(raw, p, n) != 0) {
			store_stmt_done(st);
			return err_set(e, ERR_INTERNAL, "message too large");
		}
		if (fn != NULL)
			(void)fn(arg, &r);
	}
	store_stmt_done(st);
	return rc;
}

int
intake_set_state(struct store *s, int64_t id, const char *state,
    int64_t now_ms, struct err *e)
{
	if (store_run(s, e, "UPDATE adt_event SET state = ?, state_changed = ?"
	    " WHERE id = ?", "sII", state, (int64_t)now_ms, (int64_t)id) != 0)
		return -1;
	if (store_changes(s) == 0)
		return err_set(e, ERR_PERM, "no ADT with id %lld",
		    (long long)id);
	return 0;
}

static bool
sniff_hl7(const uint8_t *p, size_t n)
{
	size_t i = 0;

	if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
		i = 3;
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
	    p[i] == '\n'))
		i++;
	if (n - i < 4)
		return false;
	if (memcmp(p + i, "MSH", 3) != 0 && memcmp(p + i, "FHS", 3) != 0 &&
	    memcmp(p + i, "BHS", 3) != 0)
		return false;
	/* the field separator: printable, not a letter or digit */
	return p[i + 3] > ' ' && p[i + 3] < 0x7f &&
	    !((p[i + 3] >= '0' && p[i + 3] <= '9') ||
	    (p[i + 3] >= 'A' && p[i + 3] <= 'Z') ||
	    (p[i + 3] >= 'a' && p[i + 3] <= 'z'));
}

bool
intake_is_hl7(const char *content_type, const void *p, size_t n)
{
	static const char *const hl7_types[] = {"text/hl7v2",
	    "application/hl7-v2", "application/hl7-v2+er7",
	    "x-application/hl7-v2+er7", "application/edi-hl7",
	    "application/x-hl7", NULL};
	static const char *const sniff_types[] = {"text/plain",
	    "application/octet-stream", NULL};
	size_t tl;

	if (content_type == NULL || content_type[0] == '\0')
		return sniff_hl7(p, n);
	while (*content_type == ' ' || *content_type == '\t')
		content_type++;
	for (tl = 0; content_type[tl] && content_type[tl] != ';' &&
	    content_type[tl] != ' ' && content_type[tl] != '\t'; tl++)
		;
	for (int i = 0; hl7_types[i]; i++)
		if (strlen(hl7_types[i]) == tl &&
		    str_span_caseeq(content_type, tl, hl7_types[i]))
			return true;
	for (int i = 0; sniff_types[i]; i++)
		if (strlen(sniff_types[i]) == tl &&
		    str_span_caseeq(content_type, tl, sniff_types[i]))
			return sniff_hl7(p, n);
	return false;
}
