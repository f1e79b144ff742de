/* MIME for the security agent: reading the entities of a Direct message
 * (headers, Content-Type and its parameters, transfer encoding, the exact
 * bytes of multipart parts, decoded bodies) and writing the entities the
 * agent sends (the signed multipart, the enveloped outer message). The
 * only place libetpan (mailimf, mailmime) is used; its types never leave
 * mime.c. Sans-I/O: bytes in, bytes out; every span returned borrows the
 * caller's input.
 *
 * Inputs are expected in canonical form (CRLF line ends): run
 * mime_canon_crlf first when they may not be. */
#ifndef SMIME_MIME_H
#define SMIME_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define MIME_TYPE_MAX 128
#define MIME_PARAM_MAX 128
#define MIME_ADDR_MAX 320
/* Header section and field limits (RFC 5322 2.1.1 says 998 per line; we
 * allow folded fields up to this many bytes in all). */
#define MIME_HEADER_MAX (256 * 1024)
#define MIME_RCPT_MAX 1000
#define MIME_PARTS_MAX 64

enum mime_cte {
	MIME_CTE_IDENTITY = 0, /* absent, 7bit, 8bit, binary */
	MIME_CTE_BASE64,
	MIME_CTE_QP,
	MIME_CTE_UNKNOWN,      /* an x-token: cannot decode */
};

/* What the agent needs of one entity's header. */
struct mime_entity {
	char type[MIME_TYPE_MAX];         /* "multipart/signed", lower case;
	                                     "text/plain" when absent */
	char smime_type[MIME_PARAM_MAX];  /* smime-type, lower case, or "" */
	char protocol[MIME_PARAM_MAX];    /* protocol, lower case, or "" */
	char micalg[MIME_PARAM_MAX];      /* micalg, lower case, or "" */
	char boundary[MIME_PARAM_MAX];    /* as written, or "" */
	enum mime_cte cte;
	size_t body_off;                  /* where the body starts in p */
};

/* Parses the header section of an entity (a message or a body part) at
 * p[0..n). The body is p[body_off..n). -1 with e (ERR_PROTO) when the
 * header section is malformed or longer than MIME_HEADER_MAX. */
int mime_entity_parse(const uint8_t *p, size_t n, struct mime_entity *ent_r,
    struct err *e);

struct mime_span {
	size_t off; /* relative to the p given */
	size_t len;
};

/* Splits the multipart entity p[0..n) (parsed into ent, which must carry a
 * boundary) into its body parts: each span is the exact octets of a part
 * (its headers and body) between the CRLF ending a delimiter line and the
 * CRLF before the next delimiter (RFC 2046 5.1.1), which is what a
 * multipart/signed signature covers (RFC 1847). Fills up to max spans and
 * *n_r. -1 (ERR_PROTO) without a closing delimiter or with more than max
 * parts. */
int mime_multipart_split(const uint8_t *p, size_t n,
    const struct mime_entity *ent, struct mime_span *parts, size_t max,
    size_t *n_r, struct err *e);

/* Appends the decoded body p[0..n) to out: identity copies; base64
 * accepts any line length (a whole body on one line) and ignores white
 * space; quoted-printable through libetpan. -1 (ERR_PROTO) on characters
 * outside the alphabet or an unknown encoding, or when out's max is hit. */
int mime_body_decode(const uint8_t *p, size_t n, enum mime_cte cte,
    struct buf *out, struct err *e);

/* The routing and trust-relevant fields of a message header. Addresses
 * are the addr-spec ("a@b.example") of each mailbox, as written. */
struct mime_headers {
	char from[MIME_ADDR_MAX];   /* the first From mailbox, or "" */
	size_t n_from;              /* how many mailboxes From has */
	char sender[MIME_ADDR_MAX]; /* Sender, or "" */
	char message_id[MIME_ADDR_MAX]; /* without the angle brackets */
	char **rcpts;               /* To and Cc mailboxes (groups too) */
	size_t n_rcpts;
};

/* Parses the header section of the message p[0..n). Fills h (release with
 * mime_headers_release, also after an error). -1 (ERR_PROTO) on a
 * malformed header section; a message without From is not an error here
 * (h->from is ""). */
int mime_headers_parse(const uint8_t *p, size_t n, struct mime_headers *h,
    struct err *e);
void mime_headers_release(struct mime_headers *h);

/* Appends to out the header fields of message p[0..n) that an outer,
 * unprotected header may show (From, To, Cc, Date, Message-ID, Subject,
 * Disposition-Notification-To and -Options), written by libetpan with CRLF
 * line ends. subject replaces the Subject when not NULL and not "". -1
 * (ERR_PROTO) when the header section is malformed. */
int mime_write_routing_headers(const uint8_t *p, size_t n,
    const char *subject, struct buf *out, struct err *e);

/* Appends to out the header fields of p[0..n) as written (folded lines
 * kept), except Content-* and MIME-Version, without the empty line that
 * ends the header section. -1 when out's max is hit. */
int mime_write_headers_except_content(const uint8_t *p, size_t n,
    struct buf *out);

/* Both of the above with one parse: fills h (may be NULL) and appends the
 * routing header fields to routing (may be NULL). */
int mime_headers_parse_routing(const uint8_t *p, size_t n,
    struct mime_headers *h, const char *subject, struct buf *routing,
    struct err *e);

/* Appends p[0..n) to out with every bare LF turned into CRLF, and a final
 * CRLF when the input does not end with one. -1 when out's max is hit. */
int mime_canon_crlf(const uint8_t *p, size_t n, struct buf *out);

/* Appends "Content-Type: type; name="value"..." (params: name, value
 * pairs ending with NULL; libetpan quotes every value and folds long
 * lines) ending in CRLF. -1 when out's max is hit or type is not "x/y". */
int mime_write_content_type(struct buf *out, const char *type,
    const char *const *params, struct err *e);

/* Appends base64 of p[0..n) in lines of 76 characters ending in CRLF. */
int mime_base64_encode(const uint8_t *p, size_t n, struct buf *out);

/* A fresh multipart boundary (random, 32 hex digits after a fixed
 * prefix that cannot occur in base64); always the same length. */
void mime_boundary(char *dst, size_t size);

#endif
