/* HL7 v2 messages: a sans-I/O parser and writer (bytes in, an index out; no
 * sockets, no clock).
 *
 * Intake normalizes what real feeds send: a UTF-8 byte-order mark is
 * stripped, LF and CRLF become CR, empty (or blank) lines are dropped and the
 * last segment is terminated by CR. Everything else is kept byte for byte:
 * writing back an unmodified message reproduces its normalized bytes.
 *
 * Delimiters come from MSH-1 (field separator) and MSH-2 (component,
 * repetition, escape, subcomponent; missing ones take the defaults ^~\&).
 * Values are addressed by segment, field, repetition, component and
 * subcomponent; MSH-1 is the separator itself and MSH-2 the encoding
 * characters, both atomic. Values are kept escaped (raw); hl7_unescape()
 * decodes them for reading.
 *
 * hl7_parse() takes one message; adt/hl7_reader.h splits a stream or file
 * (several messages, FHS/BHS/BTS/FTS batches). */
#ifndef ADT_HL7_H
#define ADT_HL7_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* Limits on what a peer can make the parser index. */
#define HL7_MAX_BYTES (64u << 20)
#define HL7_MAX_SEGMENTS 10000u
#define HL7_MAX_FIELDS 200000u /* all segments together */

struct hl7_delims {
	char field;  /* | */
	char comp;   /* ^ */
	char rep;    /* ~ */
	char esc;    /* \ */
	char sub;    /* & */
};

/* A position in a message. Numbers start at 1; 0 means "not given": the
 * whole field (every repetition), the whole repetition, the whole
 * component. seg_occ picks the n-th segment of that name (default 1). */
struct hl7_loc {
	char seg[4];
	unsigned seg_occ;
	unsigned field;
	unsigned rep;
	unsigned comp;
	unsigned sub;
};

struct hl7_msg;

/* Parses one message (starting with MSH after normalization). The input is
 * copied; the message owns its normalized bytes. Fails (ERR_PERM) when
 * there is no MSH first, the delimiters are unusable, or a limit is
 * exceeded; segment names and field contents are checked by hl7_validate
 * (adt/hl7_validate.h), not here. *m_r is NULL on error. */
int hl7_parse(const void *p, size_t n, struct hl7_msg **m_r, struct err *e);
void hl7_msg_free(struct hl7_msg **mp);

/* The normalized bytes (segments each ending in CR). Borrowed. */
const uint8_t *hl7_msg_data(const struct hl7_msg *m, size_t *n_r);
const struct hl7_delims *hl7_msg_delims(const struct hl7_msg *m);
/* Whether the input began with a UTF-8 BOM / used LF or CRLF endings. */
bool hl7_msg_had_bom(const struct hl7_msg *m);

size_t hl7_msg_nsegs(const struct hl7_msg *m);
/* The name of segment i (0-based), NUL-terminated, borrowed; "" if i is out
 * of range. Names are whatever precedes the first field separator, capped
 * at 3 bytes (hl7_validate reports longer or odd names). */
const char *hl7_msg_seg_name(const struct hl7_msg *m, size_t i);
/* The raw bytes of segment i without its CR. Borrowed. */
const uint8_t *hl7_msg_seg_data(const struct hl7_msg *m, size_t i,
    size_t *n_r);
/* The number of fields of segment i including field 0 (the name): for
 * "PID|1|x" it is 3. For MSH, field 1 is the separator. */
size_t hl7_msg_nfields(const struct hl7_msg *m, size_t i);
/* Index of the n-th (1-based) segment named name, or -1. */
long hl7_msg_find_seg(const struct hl7_msg *m, const char *name, unsigned n);

/* The raw (escaped) value at a location: *p_r and *n_r borrow the message's
 * bytes. Returns 1 when the location exists (the value may be empty), 0
 * when it does not (then *n_r is 0). */
int hl7_msg_get(const struct hl7_msg *m, const struct hl7_loc *loc,
    const uint8_t **p_r, size_t *n_r);
/* Same for a segment index instead of a name. */
int hl7_msg_get_at(const struct hl7_msg *m, size_t seg, unsigned field,
    unsigned rep, unsigned comp, unsigned sub, const uint8_t **p_r,
    size_t *n_r);
/* Same with a path: "PID-3", "PID-3[2].4", "MSH-9.2", "PID-5.1.1",
 * "OBX[2]-5" (the second OBX). Returns -1 if the path is malformed. */
int hl7_msg_path(const struct hl7_msg *m, const char *path,
    const uint8_t **p_r, size_t *n_r);
/* The unescaped value at path appended to out as text; 1, 0 (absent: out
 * unchanged) or -1 (bad path, or out's limit). */
int hl7_msg_path_text(const struct hl7_msg *m, const char *path,
    struct buf *out);
/* Copies the unescaped value at path into dst (NUL-terminated, truncated
 * to size); returns 1 / 0 / -1 like hl7_msg_path. */
int hl7_msg_path_str(const struct hl7_msg *m, const char *path, char *dst,
    size_t size);

/* Parses a path into loc; 0 or -1. */
int hl7_loc_parse(const char *path, struct hl7_loc *loc_r);

/* Counts the repetitions of a field / components of a repetition /
 * subcomponents of a component at the given location (fields with a value
 * of "" count 1; absent fields 0). */
unsigned hl7_msg_count_reps(const struct hl7_msg *m, size_t seg,
    unsigned field);
unsigned hl7_msg_count_comps(const struct hl7_msg *m, size_t seg,
    unsigned field, unsigned rep);
unsigned hl7_msg_count_subs(const struct hl7_msg *m, size_t seg,
    unsigned field, unsigned rep, unsigned comp);

/* MSH-18 as recorded ("" when empty: ASCII). Borrowed, NUL-terminated. */
const char *hl7_msg_charset(const struct hl7_msg *m);

/* Writes the message: segments from their fields joined by the message's
 * delimiters, each ending in CR. For an unmodified message the output is
 * its normalized bytes. -1 only when out's limit is reached. */
int hl7_msg_write(const struct hl7_msg *m, struct buf *out);
/* Appends a segment given as raw text (without CR; values already
 * escaped, see hl7_escape). Fails (PERM) on a CR or LF inside, an empty
 * segment, or a limit. */
int hl7_msg_add_segment(struct hl7_msg *m, const void *p, size_t n,
    struct err *e);

/* Appends segment name (3 characters) with fields values[0..n-1] (plain
 * text, NULL for empty), each escaped with the message's delimiters: the
 * enrichment Z-segments (ZNP|ACRSNPI|<npi>). Same errors as
 * hl7_msg_add_segment. */
int hl7_msg_add_fields(struct hl7_msg *m, const char *name,
    const char *const *values, size_t n, struct err *e);

/* Escapes a value for insertion: the delimiters and the escape character
 * become \F\ \S\ \T\ \R\ \E\, CR and LF become \.br\, other control
 * characters \Xhh\. -1 when out's limit is reached. */
int hl7_escape(const struct hl7_delims *d, const void *p, size_t n,
    struct buf *out);
/* Decodes a raw value: \F\ \S\ \T\ \R\ \E\, \Xhh..\ (bytes), \.br\ (LF);
 * \H\ and \N\ (highlighting) are dropped; unknown or unterminated sequences
 * pass through unchanged. -1 when out's limit is reached. */
int hl7_unescape(const struct hl7_delims *d, const void *p, size_t n,
    struct buf *out);

/* The default delimiters |^~\&. */
void hl7_delims_default(struct hl7_delims *d);

#endif
