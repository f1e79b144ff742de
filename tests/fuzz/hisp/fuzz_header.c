/* Fuzz target: the mail header helpers (hisp/header.h) on a message's
 * bytes (header_section_len, header_get with a roomy and a tiny buffer,
 * header_contains, header_message_id, header_final_delivery_requested)
 * and the DSN builder (hisp/dsn.h), which copies the original's header
 * block (its static header_len) into the report. The DSN's status and
 * diagnostic come from the input's X-Status and X-Diag fields; the text
 * BODY-MARK in the original's body must not reach the report. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "hisp/dsn.h"
#include "hisp/header.h"

#define MARK "BODY-MARK"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"Message-ID", "Content-Type",
    "Disposition-Notification-Options", "Disposition-Notification-To",
    "Subject", "X-Status", "", ":", "Message-ID ", NULL};

static void
check_get(const uint8_t *data, size_t size, const char *name)
{
	struct buf big, tiny;
	int rc, trc;

	buf_init(&big, 1 << 20);
	buf_init(&tiny, 8);
	buf_append_str(&big, "pre");
	rc = header_get(data, size, name, &big);
	if (rc < 0 || rc > 1 || memcmp(big.data, "pre", 3) != 0)
		abort();
	if (rc == 0 && big.len != 3)
		abort();
	if (rc == 1 && big.len > 3 && (big.data[3] == ' ' ||
	    big.data[3] == '\t' || big.data[big.len - 1] == ' ' ||
	    big.data[big.len - 1] == '\t'))
		abort();
	trc = header_get(data, size, name, &tiny);
	if (trc < -1 || trc > 1 || (trc == 0 && rc != 0) ||
	    (trc == 1 && (rc != 1 || tiny.len != big.len - 3 ||
	    memcmp(tiny.data, big.data + 3, tiny.len) != 0)))
		abort();
	(void)header_contains(data, size, name, "x-direct");
	(void)header_contains(data, size, name, "");
	buf_release(&big);
	buf_release(&tiny);
}

static void
check_dsn(const uint8_t *data, size_t size)
{
	struct buf st, diag, out;
	struct dsn_rcpt r[2];
	struct dsn_params p;
	size_t hl = header_section_len(data, size);

	buf_init(&st, 64);
	buf_init(&diag, 1024);
	buf_init(&out, BUF_UNLIMITED);
	(void)header_get(data, size, "X-Status", &st);
	(void)header_get(data, size, "X-Diag", &diag);
	r[0].rcpt = "b@b.test";
	r[0].status = st.len > 0 ? buf_cstr(&st) : NULL;
	r[0].diagnostic = buf_cstr(&diag);
	r[1].rcpt = "c@b.test";
	r[1].status = buf_cstr(&diag);
	r[1].diagnostic = buf_cstr(&st);
	memset(&p, 0, sizeof(p));
	p.reporting_mta = "mx.a.test";
	p.from = "mailer-daemon@a.test";
	p.to = "a@a.test";
	p.orig_message_id = NULL;
	p.arrival = 1767225600;
	p.now = 1767225660;
	p.orig = data;
	p.orig_len = size;
	p.rcpts = r;
	p.nrcpt = 2;
	p.explanation = "Your message could not be delivered.";
	if (dsn_build(&out, &p) != 0)
		abort();
	/* no byte of the original's body reaches the report (it may hold
	 * PHI): a mark only in the body must not appear */
	if (memmem(data, hl, MARK, strlen(MARK)) == NULL &&
	    memmem(data + hl, size - hl, MARK, strlen(MARK)) != NULL &&
	    memmem(out.data, out.len, MARK, strlen(MARK)) != NULL)
		abort();
	buf_release(&st);
	buf_release(&diag);
	buf_release(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t hl = header_section_len(data, size);
	char *id;

	if (hl > size)
		abort();
	for (int i = 0; names[i] != NULL; i++)
		check_get(data, size, names[i]);
	id = header_message_id(data, size);
	if (id != NULL) {
		struct buf v;

		buf_init(&v, BUF_UNLIMITED);
		if (id[0] == '\0' || strlen(id) > 989 ||
		    header_get(data, size, "Message-ID", &v) != 1 ||
		    strcmp(buf_cstr(&v), id) != 0)
			abort();
		buf_release(&v);
		free(id);
	}
	if (header_final_delivery_requested(data, size) &&
	    !header_contains(data, size, "disposition-notification-options",
	    "x-direct-final-destination-delivery"))
		abort();
	check_dsn(data, size);
	return 0;
}
