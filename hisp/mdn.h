/* Message disposition notifications for Direct (RFC 3798 as the
 * Implementation Guide for Delivery Notification in Direct applies it),
 * and reading the delivery reports that come back: MDNs and DSNs
 * (RFC 3464). Sans-I/O: bytes in, bytes or a struct out. */
#ifndef HISP_MDN_H
#define HISP_MDN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum mdn_disposition {
	MDN_NONE = 0,
	MDN_PROCESSED,
	MDN_DISPATCHED,
	MDN_FAILED,
	MDN_DELAYED,   /* a DSN with Action: delayed */
	MDN_DELIVERED, /* a DSN with Action: delivered/relayed/expanded */
};

const char *mdn_disposition_name(enum mdn_disposition d);

struct mdn_params {
	const char *reporting_ua;    /* host name of the reporting HISP */
	const char *from;            /* the recipient who reports */
	const char *to;              /* the original sender */
	const char *orig_message_id; /* byte for byte */
	const char *final_recipient;
	enum mdn_disposition disposition; /* processed, dispatched, failed */
	bool final_delivery_ext;     /* X-DIRECT-FINAL-DESTINATION-DELIVERY */
	const char *failure;         /* Failure: text for failed; may be NULL */
	int64_t now;
};

/* Appends a whole MDN message (headers, multipart/report body, CRLF) to
 * out. The Disposition is exactly "automatic-action/MDN-sent-
 * automatically; <processed|dispatched|failed>". -1 when out is full. */
int mdn_build(struct buf *out, const struct mdn_params *p);

/* What a report says, per recipient (the first Final-Recipient of the
 * report: Direct sends one report per recipient). */
struct mdn_report {
	bool is_dsn;                 /* delivery-status, not an MDN */
	enum mdn_disposition disposition;
	char orig_message_id[400];   /* Original-Message-ID or
	                                X-Original-Message-ID, as written */
	char final_recipient[320];   /* the address, without "rfc822;" */
	bool final_delivery_ext;
	char status[16];             /* DSN Status: */
	char detail[200];            /* Failure:/Error: or Diagnostic-Code */
};

/* Reads a message that may be a report. 1 with r filled, 0 when it is
 * not a report (not multipart/report of a known type), -1 (ERR_PROTO)
 * when it claims to be one but cannot be read. Limits: 1 MiB of input
 * examined, fields of 998 characters. */
int mdn_parse(const uint8_t *msg, size_t len, struct mdn_report *r,
    struct err *e);
/* The same for the index-th recipient of the report (0: the first, as
 * mdn_parse). A DSN may list several recipients, each with its own
 * Action, Status and Diagnostic-Code; only that recipient's group is read
 * for them. 0 also when the report has no recipient index (index > 0). */
int mdn_parse_rcpt(const uint8_t *msg, size_t len, size_t index,
    struct mdn_report *r, struct err *e);

#endif
