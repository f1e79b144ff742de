#include "gateway/gateway_config.h"

const struct config_def gateway_config_defs[] = {
	{"intake", "direct_ack", CONFIG_BOOL, "yes", 0, 0,
	    "answer ADTs received by Direct with their HL7 ACKs, as a Direct "
	    "message to the sender"},
	CONFIG_DEF_END,
};
