#include "certs/certs_store.h"

int
certs_store_generation(struct store *s, int64_t *gen_r, struct err *e)
{
	int r = store_query_int(s, gen_r, e,
	    "SELECT CAST(value AS INTEGER) FROM meta"
	    " WHERE key = 'certs_generation'", "");

	if (r < 0)
		return -1;
	if (r == 0)
		*gen_r = 0;
	return 0;
}

int
certs_store_bump(struct store *s, struct err *e)
{
	return store_run(s, e,
	    "INSERT INTO meta (key, value) VALUES ('certs_generation', '1')"
	    " ON CONFLICT (key) DO UPDATE"
	    " SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)", "");
}
