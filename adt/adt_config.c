#include "adt/adt_config.h"

#include <stdint.h>
#include <string.h>

#include "adt/ack.h"
#include "core/str.h"

const struct config_def adt_config_defs[] = {
	{"mllp", "listen", CONFIG_STR, "", 0, 0,
	    "MLLP listener HOST:PORT, e.g. 127.0.0.1:2575; empty disables"},
	{"mllp", "max_frame", CONFIG_SIZE, "1M", 1024, 64 << 20,
	    "largest MLLP frame; a larger one is discarded and answered AR"},
	{"mllp", "idle_timeout", CONFIG_DURATION, "5m", 100, 86400000,
	    "close a connection idle this long between frames, or whose "
	    "ACKs are not read for this long"},
	{"mllp", "frame_timeout", CONFIG_DURATION, "60s", 100, 86400000,
	    "close a connection whose started frame is not complete in "
	    "this time"},
	{"mllp", "max_connections", CONFIG_INT, "256", 1, 100000,
	    "concurrent MLLP connections; more are refused"},
	{"mllp", "max_connections_per_ip", CONFIG_INT, "32", 0, 100000,
	    "concurrent MLLP connections from one IP address; more are "
	    "refused; 0: no limit"},
	{"mllp", "ack_mode", CONFIG_STR, "auto", 0, 0,
	    "auto (enhanced when MSH-15/16 are valued), original or enhanced"},
	{"mllp", "commit_ack", CONFIG_BOOL, "no", 0, 0,
	    "MLLP release 2: send a commit ACK/NAK frame before the HL7 ACK"},
	{"adt", "ack_application", CONFIG_STR, "DIRECTGATE", 0, 0,
	    "MSH-3 of ACKs when the message's MSH-5 is empty"},
	{"adt", "ack_facility", CONFIG_STR, "", 0, 0,
	    "MSH-4 of ACKs when the message's MSH-6 is empty"},
	CONFIG_DEF_END,
};

int
adt_config_split_hostport(const char *s, char *host, unsigned size,
    int *port_r)
{
	const char *colon;
	size_t hl;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL || end[1] != ':')
			return -1;
		hl = (size_t)(end - s - 1);
		colon = end + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -1;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= size)
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	return str_to_int(colon + 1, 1, 65535, port_r);
}

int
adt_config_check(const struct config *c, struct err *e)
{
	const char *listen = config_str(c, "mllp", "listen");
	enum ack_mode mode;
	char host[256];
	int port;

	if (listen[0] != '\0' &&
	    adt_config_split_hostport(listen, host, sizeof(host), &port) != 0)
		return err_set(e, ERR_CONFIG,
		    "[mllp] listen: '%s' is not HOST:PORT", listen);
	if (ack_mode_parse(config_str(c, "mllp", "ack_mode"), &mode) != 0)
		return err_set(e, ERR_CONFIG,
		    "[mllp] ack_mode: '%s' is not auto, original or enhanced",
		    config_str(c, "mllp", "ack_mode"));
	return 0;
}
