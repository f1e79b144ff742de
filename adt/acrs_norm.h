/* Normalization shared by the ACRS file validator and patient matching:
 * dates, NPIs, names, sex, ZIP, phone, street addresses (USPS Publication 28
 * suffixes), Jaro-Winkler similarity and the blocking keys. Pure functions:
 * no I/O, no clock (today is passed in). */
#ifndef ADT_ACRS_NORM_H
#define ADT_ACRS_NORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Normalized text sizes (with the NUL). */
#define ACRS_NAME_MAX 64
#define ACRS_STREET_MAX 128
#define ACRS_SUFFIX_MAX 16

/* Dates are YYYYMMDD integers (20260131); 0 means none. */

/* "YYYY-MM-DD" exactly (n bytes), a real calendar date from 1800. 0 / -1. */
int acrs_norm_date(const char *s, size_t n, int32_t *ymd_r);
/* HL7 DT/TS ("YYYYMMDD", anything after the day ignored) or YYYY-MM-DD.
 * 0 / -1. */
int acrs_norm_date_any(const char *s, int32_t *ymd_r);
bool acrs_norm_date_valid(int y, int m, int d);
/* ymd plus months (negative goes back); the day is clamped to the month. */
int32_t acrs_norm_add_months(int32_t ymd, int months);
/* Days since 1970-01-01 <-> YYYYMMDD. */
int64_t acrs_norm_days(int32_t ymd);
int32_t acrs_norm_from_days(int64_t days);
/* Today (UTC) from a Unix time. */
int32_t acrs_norm_today(int64_t unix_time);

/* 10 digits whose last is the Luhn check digit over "80840" + the first
 * nine. */
bool acrs_norm_npi_ok(const char *s, size_t n);
/* The check digit for nine digits (generators). */
int acrs_norm_npi_check(const char *nine);

/* Names: UTF-8 folded to ASCII, upper-cased, apostrophes and periods
 * dropped, other punctuation a separator, titles (MR, MRS, DR...) removed.
 * A last name loses trailing suffixes (JR, SR, II, III, IV...) into
 * suffix_r (may be NULL) and its spaces ("DE LA CRUZ" -> "DELACRUZ"); a
 * first name keeps its first word, the rest goes to middle_r (may be NULL,
 * filled only when empty). Outputs are ACRS_NAME_MAX bytes. */
void acrs_norm_last(const char *in, char *out, char *suffix_r);
void acrs_norm_first(const char *in, char *out, char *middle_r);
/* Folded, upper-cased words separated by one space (cities, middle). */
void acrs_norm_words(const char *in, char *out, size_t size);
/* A street line with USPS Publication 28 abbreviations for suffixes
 * (STREET -> ST), directions (NORTH -> N) and units (APARTMENT -> APT). */
void acrs_norm_street(const char *in, char *out, size_t size);
/* The Publication 28 abbreviation of one upper-case word, or NULL. */
const char *acrs_norm_usps_abbrev(const char *word);

/* M, F, O, U (full words and HL7 table 0001 accepted: A -> O, N -> U);
 * "" -> 'U'. 0 when not a sex code. */
char acrs_norm_sex(const char *s);
/* 5 digits or ZIP+4 ("12345-6789" or 9 digits) -> zip5 (6 bytes). 0 ok,
 * 1 empty, -1 bad. */
int acrs_norm_zip(const char *s, char zip5[6]);
/* US phone: punctuation stripped, a leading 1 of 11 digits dropped, 10
 * digits (11 bytes). 0 ok, 1 empty, -1 bad. */
int acrs_norm_phone(const char *s, char phone[11]);

/* Jaro-Winkler similarity of two ASCII strings, 0..1 (both empty: 0). */
double acrs_norm_jw(const char *a, const char *b);

/* Blocking keys. By name: ZIP5 + first 4 letters of last and first name +
 * sex, hashed to a positive 63-bit integer; 0 when a part is missing. By
 * phone: last 4 digits * 10^8 + DOB; 0 when missing. */
int64_t acrs_norm_key_name(const char *zip5, const char *last,
    const char *first, char sex);
int64_t acrs_norm_key_phone(const char *phone, int32_t dob);

/* A 64-bit FNV-1a digest (hash tables, log references). */
uint64_t acrs_norm_fnv(uint64_t h, const void *p, size_t n);
#define ACRS_FNV_INIT 14695981039346656037ULL

#endif
