#include "adt/notify_config.h"

#include <string.h>

#include "core/buf.h"
#include "core/str.h"

const struct config_def notify_config_defs[] = {
	{"notify", "enabled", CONFIG_BOOL, "yes", 0, 0,
	    "run the notification agent in the daemon"},
	{"notify", "from", CONFIG_STR, "", 0, 0,
	    "sender of Direct notifications (an address of kind notify with a "
	    "signing certificate); empty: the first address of kind notify"},
	{"notify", "poll", CONFIG_DURATION, "200ms", 10, 60000,
	    "how often stored ADTs are looked for"},
	{"notify", "batch", CONFIG_INT, "64", 1, 10000,
	    "ADTs planned per worker job"},
	{"notify", "zsegments", CONFIG_STR, "ZNP,ZPD,ZCK,ZPR", 0, 0,
	    "enrichment Z-segments appended for each receiver"},
	{"notify", "sensitive_facilities", CONFIG_STR, "", 0, 0,
	    "facility ids (MSH-4.1 or PV1-3.4.1) whose events are sensitive"},
	{"notify", "test_address", CONFIG_STR, "", 0, 0,
	    "where test traffic (MSH-11 T or D) goes; empty: nowhere"},
	{"notify", "mllp_timeout", CONFIG_DURATION, "10s", 100, 600000,
	    "time to wait for an MLLP acknowledgement"},
	{"notify", "mllp_retries", CONFIG_INT, "10", 0, 1000,
	    "MLLP retries after a timeout or AR before giving up"},
	{"notify", "mllp_backoff", CONFIG_DURATION, "5s", 10, 3600000,
	    "first MLLP retry delay (doubling, at most 1 h)"},
	{"notify", "digest_check", CONFIG_DURATION, "30s", 10, 3600000,
	    "how often due daily digests are looked for"},
	CONFIG_DEF_END,
};

void
notify_config_defaults(struct notify_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->enabled = true;
	s->poll_ms = 200;
	s->batch = 64;
	str_lcpy(s->zsegments, "ZNP,ZPD,ZCK,ZPR", sizeof(s->zsegments));
	s->mllp_timeout_ms = 10000;
	s->mllp_retries = 10;
	s->mllp_backoff_ms = 5000;
	s->digest_check_ms = 30000;
	acrs_config_defaults(&s->acrs);
}

/* Whether a section's table is registered: its name in the dump. */
static bool
notify_config_has(const struct config *c, const char *section)
{
	struct buf dump;
	char want[64];
	bool have;

	buf_init(&dump, BUF_UNLIMITED);
	config_dump(c, &dump);
	str_fmt(want, sizeof(want), "[%s]", section);
	have = strstr(buf_cstr(&dump), want) != NULL;
	buf_release(&dump);
	return have;
}

int
notify_config_read(const struct config *c, struct notify_settings *s,
    struct err *e)
{
	notify_config_defaults(s);
	if (c == NULL)
		return 0;
	if (notify_config_has(c, "acrs") &&
	    acrs_config_read(c, &s->acrs, e) != 0)
		return -1;
	if (!notify_config_has(c, "notify"))
		return 0;
	s->enabled = config_bool(c, "notify", "enabled");
	str_lcpy(s->from, config_str(c, "notify", "from"), sizeof(s->from));
	s->poll_ms = config_int(c, "notify", "poll");
	s->batch = (int)config_int(c, "notify", "batch");
	if (str_lcpy(s->zsegments, config_str(c, "notify", "zsegments"),
	    sizeof(s->zsegments)) >= sizeof(s->zsegments))
		return err_set(e, ERR_CONFIG, "[notify] zsegments: too long");
	if (str_lcpy(s->sensitive_facilities, config_str(c, "notify",
	    "sensitive_facilities"), sizeof(s->sensitive_facilities)) >=
	    sizeof(s->sensitive_facilities))
		return err_set(e, ERR_CONFIG,
		    "[notify] sensitive_facilities: too long");
	str_lcpy(s->test_address, config_str(c, "notify", "test_address"),
	    sizeof(s->test_address));
	s->mllp_timeout_ms = config_int(c, "notify", "mllp_timeout");
	s->mllp_retries = (int)config_int(c, "notify", "mllp_retries");
	s->mllp_backoff_ms = config_int(c, "notify", "mllp_backoff");
	s->digest_check_ms = config_int(c, "notify", "digest_check");
	return 0;
}
