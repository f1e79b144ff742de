#include "adt/acrs_config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

const struct config_def acrs_config_defs[] = {
	{"acrs", "match_threshold", CONFIG_STR, "12.0", 0, 0,
	    "patient match score (Fellegi-Sunter log-odds, at most 39.85) at "
	    "or above which an ADT is matched"},
	{"acrs", "possible_threshold", CONFIG_STR, "6.0", 0, 0,
	    "score at or above which a non-match is held for review"},
	{"acrs", "similarity", CONFIG_STR, "0.90", 0, 0,
	    "Jaro-Winkler similarity at which names and addresses agree"},
	{"acrs", "lookback_months", CONFIG_INT, "24", 1, 240,
	    "a provider seen within this many months is active"},
	{"acrs", "candidates_max", CONFIG_INT, "1000", 10, 100000,
	    "candidates read per blocking key"},
	{"acrs", "import_cache", CONFIG_SIZE, "2G", 1048576,
	    INT64_C(68719476736), "SQLite page cache used by an import (a "
	    "roster that fits is written once, at commit)"},
	CONFIG_DEF_END,
};

void
acrs_config_defaults(struct acrs_settings *s_r)
{
	s_r->match_threshold = 12.0;
	s_r->possible_threshold = 6.0;
	s_r->similarity = 0.90;
	s_r->lookback_months = 24;
	s_r->candidates_max = 1000;
	s_r->import_cache = INT64_C(2) << 30;
}

static int
acrs_config_num(const struct config *c, const char *name, double min,
    double max, double *v_r, struct err *e)
{
	const char *s = config_str(c, "acrs", name);
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) ||
	    v < min || v > max)
		return err_set(e, ERR_CONFIG, "[acrs] %s: not a number from "
		    "%g to %g", name, min, max);
	*v_r = v;
	return 0;
}

int
acrs_config_read(const struct config *c, struct acrs_settings *s_r,
    struct err *e)
{
	acrs_config_defaults(s_r);
	if (acrs_config_num(c, "match_threshold", -50, 50,
	    &s_r->match_threshold, e) == -1 ||
	    acrs_config_num(c, "possible_threshold", -50, 50,
	    &s_r->possible_threshold, e) == -1 ||
	    acrs_config_num(c, "similarity", 0.5, 1.0, &s_r->similarity,
	    e) == -1)
		return -1;
	if (s_r->possible_threshold > s_r->match_threshold)
		return err_set(e, ERR_CONFIG, "[acrs] possible_threshold is "
		    "above match_threshold");
	s_r->lookback_months = (int)config_int(c, "acrs", "lookback_months");
	s_r->candidates_max = (int)config_int(c, "acrs", "candidates_max");
	s_r->import_cache = config_int(c, "acrs", "import_cache");
	return 0;
}
