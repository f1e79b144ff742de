/* String helpers: bounded copies and checked number parsing. */
#ifndef CORE_STR_H
#define CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies src into dst of size bytes, always NUL-terminating (size > 0).
 * Returns strlen(src); truncation happened if the result >= size. */
size_t str_lcpy(char *dst, const char *src, size_t size);
/* Formats into dst; -1 on truncation or error (dst still terminated). */
int str_fmt(char *dst, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The whole of s is a decimal number within [min, max]; 0 or -1. */
int str_to_i64(const char *s, int64_t min, int64_t max, int64_t *v_r);
int str_to_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v_r);
int str_to_int(const char *s, int min, int max, int *v_r);
/* Same for a span that need not be NUL-terminated. */
int str_span_to_i64(const char *s, size_t n, int64_t min, int64_t max,
    int64_t *v_r);
/* yes/no, true/false, on/off, 1/0 (case-insensitive). */
int str_to_bool(const char *s, bool *v_r);
/* Durations: "250ms", "30s", "5m", "2h", "5d"; a bare number is seconds.
 * Result in milliseconds. */
int str_to_duration_ms(const char *s, int64_t *ms_r);
/* Sizes: "512", "4k", "10M", "1G" (powers of 1024). */
int str_to_size(const char *s, uint64_t *v_r);

bool str_begins(const char *s, const char *prefix);
bool str_casebegins(const char *s, const char *prefix);
bool str_ends(const char *s, const char *suffix);
/* Trims ASCII white space in place at both ends; returns s (moved). */
char *str_trim(char *s);
/* Lower-cases ASCII letters in place; returns s. */
char *str_lower(char *s);
/* Case-insensitive ASCII comparison of two spans. */
bool str_span_caseeq(const char *a, size_t an, const char *b);

/* Whether the n bytes at p are well-formed UTF-8: no overlong forms, no
 * surrogates, nothing past U+10FFFF (NUL and controls are allowed). */
bool str_utf8_valid(const void *p, size_t n);

/* Lower-case hex of n bytes into dst (2n+1 bytes). */
void str_hex(char *dst, const void *p, size_t n);

#endif
