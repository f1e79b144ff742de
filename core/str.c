#include "core/str.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t
str_lcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

int
str_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
str_span_to_i64(const char *s, size_t n, int64_t min, int64_t max,
    int64_t *v_r)
{
	bool neg = false;
	uint64_t v = 0, lim;
	size_t i = 0;

	*v_r = 0;
	if (n == 0)
		return -1;
	if (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return -1;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (lim - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	{
		int64_t r = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN
		    : -(int64_t)v) : (int64_t)v;

		if (r < min || r > max)
			return -1;
		*v_r = r;
	}
	return 0;
}

int
str_to_i64(const char *s, int64_t min, int64_t max, int64_t *v_r)
{
	return str_span_to_i64(s, strlen(s), min, max, v_r);
}

int
str_to_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v_r)
{
	uint64_t v = 0;

	*v_r = 0;
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -1;
	*v_r = v;
	return 0;
}

int
str_to_int(const char *s, int min, int max, int *v_r)
{
	int64_t v;

	*v_r = 0;
	if (str_to_i64(s, min, max, &v) != 0)
		return -1;
	*v_r = (int)v;
	return 0;
}

int
str_to_bool(const char *s, bool *v_r)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v_r = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v_r = false;
			return 0;
		}
	}
	return -1;
}

/* A number followed by a unit from the table; the bare number uses the
 * table's first entry. */
struct str_unit {
	const char *name;
	uint64_t mult;
};

static int
str_with_unit(const char *s, const struct str_unit *units, uint64_t *v_r)
{
	size_t n = 0;
	int64_t num;

	*v_r = 0;
	while (s[n] >= '0' && s[n] <= '9')
		n++;
	if (str_span_to_i64(s, n, 0, INT64_MAX, &num) != 0)
		return -1;
	for (const struct str_unit *u = units; u->name != NULL; u++) {
		if (strcasecmp(s + n, u->name) != 0)
			continue;
		if ((uint64_t)num > (uint64_t)INT64_MAX / u->mult)
			return -1;
		*v_r = (uint64_t)num * u->mult;
		return 0;
	}
	return -1;
}

int
str_to_duration_ms(const char *s, int64_t *ms_r)
{
	static const struct str_unit units[] = {
		{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000},
		{"h", 3600000}, {"d", 86400000}, {NULL, 0},
	};
	uint64_t v;

	*ms_r = 0;
	if (str_with_unit(s, units, &v) != 0)
		return -1;
	*ms_r = (int64_t)v;
	return 0;
}

int
str_to_size(const char *s, uint64_t *v_r)
{
	static const struct str_unit units[] = {
		{"", 1}, {"k", 1024}, {"m", 1024 * 1024},
		{"g", 1024 * 1024 * 1024}, {NULL, 0},
	};

	return str_with_unit(s, units, v_r);
}

bool
str_begins(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
str_casebegins(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

bool
str_ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

char *
str_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

char *
str_lower(char *s)
{
	for (char *p = s; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

bool
str_span_caseeq(const char *a, size_t an, const char *b)
{
	return strlen(b) == an && strncasecmp(a, b, an) == 0;
}

void
str_hex(char *dst, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		dst[2 * i] = hex[b[i] >> 4];
		dst[2 * i + 1] = hex[b[i] & 15];
	}
	dst[2 * n] = '\0';
}

bool
str_utf8_valid(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n;) {
		unsigned c = b[i];
		uint32_t cp;
		size_t len;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07;
		else
			return false;
		if (len > n - i)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((b[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (b[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 &&
		    cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 ||
		    cp > 0x10ffff)))
			return false;
		i += len;
	}
	return true;
}
