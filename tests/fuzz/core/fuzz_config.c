/* Fuzz target: the configuration parser (INI text into typed tables). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/core_config.h"
#include "core/xmalloc.h"

static const struct config_def fuzz_defs[] = {
	{"smtp", "listen", CONFIG_STR, "127.0.0.1:25", 0, 0, ""},
	{"smtp", "max_recipients", CONFIG_INT, "100", 1, 1000, ""},
	{"smtp", "tls", CONFIG_BOOL, "yes", 0, 0, ""},
	{"smtp", "timeout", CONFIG_DURATION, "5m", 0, 86400000, ""},
	{"smtp", "max_size", CONFIG_SIZE, "10M", 0, INT64_MAX, ""},
	CONFIG_DEF_END,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmemdup(data, size);
	struct config *c = config_new("/fuzz");
	struct buf out;
	struct err e;

	config_add_defs(c, core_config_defs);
	config_add_defs(c, fuzz_defs);
	if (config_load_string(c, text, "fuzz.conf", &e) == 0) {
		buf_init(&out, BUF_UNLIMITED);
		config_dump(c, &out);
		buf_release(&out);
		(void)config_int(c, "smtp", "timeout");
		(void)config_path(c, "core", "store");
	} else if (e.msg[0] == '\0' || strchr(e.msg, '\n') != NULL) {
		abort(); /* every error is one non-empty line */
	}
	config_free(&c);
	free(text);
	return 0;
}
