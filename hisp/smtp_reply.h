/* SMTP reply parser for the client side, incremental and sans-I/O
 * (RFC 5321 4.2, RFC 2034 enhanced status codes): multiline replies
 * ("250-..." lines then "250 ..."), every line with the same code. Lines
 * may end in CRLF or a bare LF. Limits: SMTP_REPLY_LINE_MAX per line,
 * SMTP_REPLY_LINES_MAX lines per reply. */
#ifndef HISP_SMTP_REPLY_H
#define HISP_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* RFC 5321 4.5.3.1.5 says 512 with CRLF; servers send longer ones. */
#define SMTP_REPLY_LINE_MAX 2048
#define SMTP_REPLY_LINES_MAX 100

struct smtp_reply {
	int code;          /* 200..599 */
	char enhanced[16]; /* "2.1.0" from the first line, or "" */
	size_t nlines;
	/* Each line's text after "ddd-" / "ddd " (the enhanced code left
	 * in), lines separated by '\n'; NUL-terminated. */
	struct buf text;
};

enum smtp_reply_class {
	SMTP_REPLY_POSITIVE, /* 2xx, 3xx */
	SMTP_REPLY_TEMP,     /* 4xx */
	SMTP_REPLY_PERM,     /* 5xx */
};

struct smtp_reply_parser;

/* Never NULL. */
struct smtp_reply_parser *smtp_reply_parser_new(void);
/* NULL accepted; clears *pp. */
void smtp_reply_parser_free(struct smtp_reply_parser **pp);

/* Reads bytes from data (n of them) and stores the count consumed in
 * *used_r. Returns 1 when a reply is complete (read it with
 * smtp_reply_parser_get0_reply; valid until the next parse; bytes after it
 * are not consumed), 0 when everything was consumed and the reply is not
 * complete yet, -1 on a malformed reply or a limit (e: ERR_PROTO); after
 * -1 the parser stays failed. */
int smtp_reply_parser_parse(struct smtp_reply_parser *p, const uint8_t *data,
    size_t n, size_t *used_r, struct err *e);
/* The last complete reply (borrowed). */
const struct smtp_reply *smtp_reply_parser_get0_reply(
    const struct smtp_reply_parser *p);

enum smtp_reply_class smtp_reply_class(int code);
/* Line i of the reply's text (borrowed, not NUL-terminated): *len_r set;
 * NULL past the last line. */
const char *smtp_reply_line(const struct smtp_reply *r, size_t i,
    size_t *len_r);
/* For an EHLO reply: whether lines after the first announce keyword
 * (case-insensitive); *params_r (may be NULL) gets the rest of that line
 * after the keyword and spaces, borrowed up to the next '\n'. */
bool smtp_reply_ehlo_has(const struct smtp_reply *r, const char *keyword,
    const char **params_r, size_t *params_len_r);

#endif
