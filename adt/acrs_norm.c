#include "adt/acrs_norm.h"

#include <stdlib.h>
#include <string.h>

#include "core/str.h"

/* Dates. */

bool
acrs_norm_date_valid(int y, int m, int d)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31};
	int max;

	if (y < 1800 || y > 9999 || m < 1 || m > 12 || d < 1)
		return false;
	max = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		max = 29;
	return d <= max;
}

static int
acrs_norm_digits(const char *s, size_t n, int *v_r)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*v_r = v;
	return 0;
}

int
acrs_norm_date(const char *s, size_t n, int32_t *ymd_r)
{
	int y, m, d;

	*ymd_r = 0;
	if (n != 10 || s[4] != '-' || s[7] != '-' ||
	    acrs_norm_digits(s, 4, &y) == -1 ||
	    acrs_norm_digits(s + 5, 2, &m) == -1 ||
	    acrs_norm_digits(s + 8, 2, &d) == -1 ||
	    !acrs_norm_date_valid(y, m, d))
		return -1;
	*ymd_r = y * 10000 + m * 100 + d;
	return 0;
}

int
acrs_norm_date_any(const char *s, int32_t *ymd_r)
{
	size_t n = strlen(s);
	int y, m, d;

	*ymd_r = 0;
	if (n >= 10 && s[4] == '-')
		return acrs_norm_date(s, 10, ymd_r);
	if (n < 8 || acrs_norm_digits(s, 4, &y) == -1 ||
	    acrs_norm_digits(s + 4, 2, &m) == -1 ||
	    acrs_norm_digits(s + 6, 2, &d) == -1 ||
	    !acrs_norm_date_valid(y, m, d))
		return -1;
	*ymd_r = y * 10000 + m * 100 + d;
	return 0;
}

int32_t
acrs_norm_add_months(int32_t ymd, int months)
{
	int y = ymd / 10000, m = ymd / 100 % 100, d = ymd % 100;
	int t = y * 12 + (m - 1) + months;

	y = t / 12;
	m = t % 12 + 1;
	while (d > 28 && !acrs_norm_date_valid(y, m, d))
		d--;
	return y * 10000 + m * 100 + d;
}

/* Howard Hinnant's days_from_civil. */
int64_t
acrs_norm_days(int32_t ymd)
{
	int64_t y = ymd / 10000, m = ymd / 100 % 100, d = ymd % 100;
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int32_t
acrs_norm_from_days(int64_t z)
{
	int64_t era, doe, yoe, y, doy, mp, d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp + (mp < 10 ? 3 : -9);
	y += m <= 2;
	return (int32_t)(y * 10000 + m * 100 + d);
}

int32_t
acrs_norm_today(int64_t unix_time)
{
	return acrs_norm_from_days(unix_time >= 0 ? unix_time / 86400 :
	    (unix_time - 86399) / 86400);
}

/* NPI. */

int
acrs_norm_npi_check(const char *nine)
{
	int sum = 24; /* the prefix 80840, doubled as Luhn asks */

	for (int i = 0; i < 9; i++) {
		int v = nine[i] - '0';

		if (i % 2 == 0) { /* from the right: every other, starting at
				   * the digit next to the check digit */
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return (10 - sum % 10) % 10;
}

bool
acrs_norm_npi_ok(const char *s, size_t n)
{
	if (n != 10)
		return false;
	for (size_t i = 0; i < 10; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return acrs_norm_npi_check(s) == s[9] - '0';
}

/* Folding. */

/* U+00C0..U+00FF and U+0100..U+017F to ASCII letters ('?' drops). */
static const char acrs_norm_latin1[64] =
    "AAAAAAACEEEEIIIIDNOOOOO?OUUUUYTs"
    "aaaaaaaceeeeiiiidnooooo?ouuuuyty";
static const char acrs_norm_latin_a[128] =
    "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiIiJjKkkLlLlLlLl"
    "LlNnNnNnnNnOoOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";

/* Appends the upper-case ASCII form of UTF-8 text to out (size bytes with
 * the NUL); letters and digits kept, apostrophes and periods dropped, any
 * other byte a space. */
static void
acrs_norm_fold(const char *in, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;

	while (*p != '\0' && o + 2 < size) {
		unsigned cp;
		int len;

		if (*p < 0x80) {
			cp = *p;
			len = 1;
		} else if ((*p & 0xe0) == 0xc0 && (p[1] & 0xc0) == 0x80) {
			cp = ((unsigned)(*p & 0x1f) << 6) | (p[1] & 0x3f);
			len = 2;
		} else {
			/* 3- and 4-byte sequences (and broken bytes): skip
			 * the lead and its continuation bytes. */
			len = 1;
			while ((p[len] & 0xc0) == 0x80 && len < 4)
				len++;
			p += len;
			out[o++] = ' ';
			continue;
		}
		p += len;
		if (cp >= 0xc0 && cp < 0x100)
			cp = (unsigned char)acrs_norm_latin1[cp - 0xc0];
		else if (cp >= 0x100 && cp < 0x180)
			cp = (unsigned char)acrs_norm_latin_a[cp - 0x100];
		if (cp >= 'a' && cp <= 'z')
			cp -= 'a' - 'A';
		if ((cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9'))
			out[o++] = (char)cp;
		else if (cp == '\'' || cp == '.' || cp == '?')
			continue;
		else
			out[o++] = ' ';
	}
	out[o] = '\0';
}

/* Splits folded text into words (in place); returns the count. */
static size_t
acrs_norm_split(char *s, char **w, size_t max)
{
	size_t n = 0;

	while (*s != '\0' && n < max) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		w[n++] = s;
		while (*s != '\0' && *s != ' ')
			s++;
		if (*s == ' ')
			*s++ = '\0';
	}
	return n;
}

static bool
acrs_norm_in(const char *w, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(w, list[i]) == 0)
			return true;
	return false;
}

static const char *const acrs_norm_titles[] = {"MR", "MRS", "MS", "MISS",
    "DR", "PROF", "REV", "FR", "SIR", NULL};
static const char *const acrs_norm_suffixes[] = {"JR", "SR", "II", "III",
    "IV", "2ND", "3RD", "4TH", "ESQ", "MD", "PHD", "DDS", "RN", NULL};

void
acrs_norm_last(const char *in, char *out, char *suffix_r)
{
	char tmp[256], *w[16];
	size_t n, o = 0;

	acrs_norm_fold(in, tmp, sizeof(tmp));
	n = acrs_norm_split(tmp, w, 16);
	if (suffix_r != NULL)
		suffix_r[0] = '\0';
	while (n > 1 && acrs_norm_in(w[n - 1], acrs_norm_suffixes)) {
		if (suffix_r != NULL && suffix_r[0] == '\0')
			str_lcpy(suffix_r, w[n - 1], ACRS_SUFFIX_MAX);
		n--;
	}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (acrs_norm_in(w[i], acrs_norm_titles) && n > 1)
			continue;
		for (const char *c = w[i]; *c && o + 1 < ACRS_NAME_MAX; c++)
			out[o++] = *c;
	}
	out[o] = '\0';
}

void
acrs_norm_first(const char *in, char *out, char *middle_r)
{
	char tmp[256], *w[16];
	size_t n, i = 0, o = 0;

	acrs_norm_fold(in, tmp, sizeof(tmp));
	n = acrs_norm_split(tmp, w, 16);
	while (i + 1 < n && acrs_norm_in(w[i], acrs_norm_titles))
		i++;
	out[0] = '\0';
	if (i < n)
		str_lcpy(out, w[i++], ACRS_NAME_MAX);
	if (middle_r != NULL && middle_r[0] == '\0')
		for (; i < n; i++) {
			if (acrs_norm_in(w[i], acrs_norm_suffixes))
				continue;
			if (o > 0 && o + 1 < ACRS_NAME_MAX)
				middle_r[o++] = ' ';
			for (const char *c = w[i]; *c &&
			    o + 1 < ACRS_NAME_MAX; c++)
				middle_r[o++] = *c;
			middle_r[o] = '\0';
		}
}

void
acrs_norm_words(const char *in, char *out, size_t size)
{
	char tmp[256], *w[32];
	size_t n, o = 0;

	acrs_norm_fold(in, tmp, sizeof(tmp));
	n = acrs_norm_split(tmp, w, 32);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (o > 0 && o + 1 < size)
			out[o++] = ' ';
		for (const char *c = w[i]; *c && o + 1 < size; c++)
			out[o++] = *c;
	}
	out[o] = '\0';
}

/* USPS Publication 28: street suffixes (Appendix C1, the common ones),
 * directionals and secondary unit designators (C2). Sorted by word. */
static const struct {
	const char *word;
	const char *abbrev;
} acrs_norm_usps[] = {
	{"ALLEE", "ALY"}, {"ALLEY", "ALY"}, {"APARTMENT", "APT"},
	{"AV", "AVE"}, {"AVEN", "AVE"}, {"AVENU", "AVE"}, {"AVENUE", "AVE"},
	{"AVN", "AVE"}, {"BEACH", "BCH"}, {"BOUL", "BLVD"},
	{"BOULEVARD", "BLVD"}, {"BOULV", "BLVD"}, {"BUILDING", "BLDG"},
	{"CAUSEWAY", "CSWY"}, {"CENTER", "CTR"}, {"CENTRE", "CTR"},
	{"CIRCL", "CIR"}, {"CIRCLE", "CIR"}, {"COURT", "CT"}, {"COVE", "CV"},
	{"CREEK", "CRK"}, {"CRESCENT", "CRES"}, {"CROSSING", "XING"},
	{"CRT", "CT"}, {"DEPARTMENT", "DEPT"}, {"DRIV", "DR"},
	{"DRIVE", "DR"}, {"DRV", "DR"}, {"EAST", "E"}, {"ESTATES", "ESTS"},
	{"EXPRESSWAY", "EXPY"}, {"FLOOR", "FL"}, {"FREEWAY", "FWY"},
	{"GARDENS", "GDNS"}, {"GROVE", "GRV"}, {"HEIGHTS", "HTS"},
	{"HIGHWAY", "HWY"}, {"HILL", "HL"}, {"HOLLOW", "HOLW"},
	{"ISLAND", "IS"}, {"JUNCTION", "JCT"}, {"LAKE", "LK"},
	{"LANDING", "LNDG"}, {"LANE", "LN"}, {"MANOR", "MNR"},
	{"MEADOWS", "MDWS"}, {"MOUNT", "MT"}, {"MOUNTAIN", "MTN"},
	{"NORTH", "N"}, {"NORTHEAST", "NE"}, {"NORTHWEST", "NW"},
	{"PARKWAY", "PKWY"}, {"PARKWY", "PKWY"}, {"PKY", "PKWY"},
	{"PLACE", "PL"}, {"PLAZA", "PLZ"}, {"POINT", "PT"}, {"RIDGE", "RDG"},
	{"ROAD", "RD"}, {"ROOM", "RM"}, {"ROUTE", "RTE"}, {"SOUTH", "S"},
	{"SOUTHEAST", "SE"}, {"SOUTHWEST", "SW"}, {"SPRINGS", "SPGS"},
	{"SQUARE", "SQ"}, {"STATION", "STA"}, {"STR", "ST"},
	{"STREET", "ST"}, {"STRT", "ST"}, {"SUITE", "STE"},
	{"TERRACE", "TER"}, {"TRACE", "TRCE"}, {"TRAIL", "TRL"},
	{"TURNPIKE", "TPKE"}, {"VALLEY", "VLY"}, {"VIEW", "VW"},
	{"VILLAGE", "VLG"}, {"WEST", "W"},
};

static int
acrs_norm_usps_cmp(const void *key, const void *ent)
{
	const char *w = key;
	const char *const *e = ent;

	return strcmp(w, *e);
}

const char *
acrs_norm_usps_abbrev(const char *word)
{
	const char *const *hit = bsearch(word, acrs_norm_usps,
	    sizeof(acrs_norm_usps) / sizeof(acrs_norm_usps[0]),
	    sizeof(acrs_norm_usps[0]), acrs_norm_usps_cmp);

	return hit != NULL ? hit[1] : NULL;
}

void
acrs_norm_street(const char *in, char *out, size_t size)
{
	char tmp[256], *w[32];
	size_t n, o = 0;

	acrs_norm_fold(in, tmp, sizeof(tmp));
	n = acrs_norm_split(tmp, w, 32);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *a = acrs_norm_usps_abbrev(w[i]);
		const char *t = a != NULL ? a : w[i];

		if (strcmp(t, "NUMBER") == 0 || strcmp(t, "NO") == 0)
			continue;
		if (o > 0 && o + 1 < size)
			out[o++] = ' ';
		for (; *t && o + 1 < size; t++)
			out[o++] = *t;
	}
	out[o] = '\0';
}

/* Sex, ZIP, phone. */

char
acrs_norm_sex(const char *s)
{
	static const struct {
		const char *word;
		char code;
	} map[] = {
		{"", 'U'}, {"M", 'M'}, {"MALE", 'M'}, {"F", 'F'},
		{"FEMALE", 'F'}, {"O", 'O'}, {"OTHER", 'O'}, {"A", 'O'},
		{"U", 'U'}, {"UNKNOWN", 'U'}, {"N", 'U'},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (str_span_caseeq(s, strlen(s), map[i].word))
			return map[i].code;
	return 0;
}

int
acrs_norm_zip(const char *s, char zip5[6])
{
	size_t n = strlen(s);

	zip5[0] = '\0';
	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		if (n == 10 && i == 5) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -1;
	}
	if (n != 5 && n != 9 && n != 10)
		return -1;
	memcpy(zip5, s, 5);
	zip5[5] = '\0';
	return 0;
}

int
acrs_norm_phone(const char *s, char phone[11])
{
	char d[16];
	size_t n = 0;
	bool any = false;

	phone[0] = '\0';
	for (const char *p = s; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n == sizeof(d) - 1)
				return -1;
			d[n++] = *p;
		} else if (*p == ' ' || *p == '-' || *p == '(' ||
		    *p == ')' || *p == '.' || *p == '+' || *p == '/') {
			any = true;
		} else {
			return -1;
		}
	}
	if (n == 0)
		return any ? -1 : 1;
	if (n == 11 && d[0] == '1') {
		memmove(d, d + 1, 10);
		n = 10;
	}
	if (n != 10)
		return -1;
	memcpy(phone, d, 10);
	phone[10] = '\0';
	return 0;
}

/* Jaro-Winkler. */

double
acrs_norm_jw(const char *a, const char *b)
{
	bool ma[64] = {false}, mb[64] = {false};
	size_t la = strlen(a), lb = strlen(b), range, m = 0, t = 0, k = 0;
	size_t prefix = 0;
	double jaro;

	if (la > 63)
		la = 63;
	if (lb > 63)
		lb = 63;
	if (la == 0 || lb == 0)
		return 0.0;
	if (la == lb && memcmp(a, b, la) == 0)
		return 1.0;
	range = (la > lb ? la : lb) / 2;
	range = range > 0 ? range - 1 : 0;
	for (size_t i = 0; i < la; i++) {
		size_t lo = i > range ? i - range : 0;
		size_t hi = i + range + 1 < lb ? i + range + 1 : lb;

		for (size_t j = lo; j < hi; j++) {
			if (mb[j] || a[i] != b[j])
				continue;
			ma[i] = mb[j] = true;
			m++;
			break;
		}
	}
	if (m == 0)
		return 0.0;
	for (size_t i = 0; i < la; i++) {
		if (!ma[i])
			continue;
		while (!mb[k])
			k++;
		if (a[i] != b[k])
			t++;
		k++;
	}
	jaro = ((double)m / (double)la + (double)m / (double)lb +
	    ((double)m - (double)t / 2.0) / (double)m) / 3.0;
	while (prefix < 4 && prefix < la && prefix < lb &&
	    a[prefix] == b[prefix])
		prefix++;
	return jaro + (double)prefix * 0.1 * (1.0 - jaro);
}

/* Keys. */

uint64_t
acrs_norm_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 1099511628211ULL;
	}
	return h;
}

int64_t
acrs_norm_key_name(const char *zip5, const char *last, const char *first,
    char sex)
{
	char k[32];
	size_t o = 0;
	uint64_t h;

	if (zip5[0] == '\0' || last[0] == '\0' || first[0] == '\0')
		return 0;
	for (size_t i = 0; i < 5 && zip5[i]; i++)
		k[o++] = zip5[i];
	k[o++] = '|';
	for (size_t i = 0; i < 4 && last[i]; i++)
		k[o++] = last[i];
	k[o++] = '|';
	for (size_t i = 0; i < 4 && first[i]; i++)
		k[o++] = first[i];
	k[o++] = '|';
	k[o++] = sex != 0 ? sex : 'U';
	h = acrs_norm_fnv(ACRS_FNV_INIT, k, o) & INT64_MAX;
	return h != 0 ? (int64_t)h : 1;
}

int64_t
acrs_norm_key_phone(const char *phone, int32_t dob)
{
	size_t n = strlen(phone);
	int v;

	if (n < 4 || dob <= 0 || acrs_norm_digits(phone + n - 4, 4, &v) == -1)
		return 0;
	return (int64_t)v * 100000000 + dob + 1; /* never 0 */
}
