#include "gateway/demo.h"

const char *
demo_config_text(void)
{
	return "[core]\nlog_level = info\n";
}

int
demo_populate(struct instance *in, struct err *e)
{
	(void)in;
	(void)e;
	return 0;
}
