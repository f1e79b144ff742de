/* Settings of the gateway's own wiring: [intake]. */
#ifndef GATEWAY_GATEWAY_CONFIG_H
#define GATEWAY_GATEWAY_CONFIG_H

#include "core/config.h"

extern const struct config_def gateway_config_defs[];

#endif
