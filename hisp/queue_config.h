/* Settings of the queue and the mailboxes: [queue], [mailbox]. */
#ifndef HISP_QUEUE_CONFIG_H
#define HISP_QUEUE_CONFIG_H

#include "core/config.h"

extern const struct config_def queue_config_defs[];

#endif
