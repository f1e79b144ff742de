/* The core module's settings: [core] paths and logging, [store], [loop]. */
#ifndef CORE_CORE_CONFIG_H
#define CORE_CORE_CONFIG_H

#include "core/config.h"

extern const struct config_def core_config_defs[];

#endif
