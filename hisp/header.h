/* Reading RFC 5322 header fields without a full MIME parse: the transport
 * needs a few fields (Message-ID, Disposition-Notification-*,
 * Content-Type's report-type) of messages it routes. */
#ifndef HISP_HEADER_H
#define HISP_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* The length of the header section of msg: up to and including the empty
 * line (or all of msg when there is none). */
size_t header_section_len(const uint8_t *msg, size_t len);
/* Appends the unfolded value of the first field called name (case-
 * insensitive) to out, white space at both ends trimmed. 1 found, 0 not,
 * -1 when out is full. Only the header section is searched. */
int header_get(const uint8_t *msg, size_t len, const char *name,
    struct buf *out);
/* The Message-ID field's value, unfolded (a long id is often written on
 * the line after "Message-ID:"), angle brackets kept, white space at both
 * ends trimmed; NULL when absent, empty or longer than 989 bytes. The
 * caller frees. */
char *header_message_id(const uint8_t *msg, size_t len);
/* Case-insensitive search for needle in the value of field name. */
bool header_contains(const uint8_t *msg, size_t len, const char *name,
    const char *needle);

/* The message asks for final delivery notification: its
 * Disposition-Notification-Options names X-DIRECT-FINAL-DESTINATION-DELIVERY. */
bool header_final_delivery_requested(const uint8_t *msg, size_t len);

#endif
