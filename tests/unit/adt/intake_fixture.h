/* A real store, group-commit writer and intake (ACK mode auto) in a fresh
 * temporary directory, with a read connection for checking what was
 * stored: the fixture of test_intake and of gateway's test_direct_intake.
 * Include after cmocka.h. */
#ifndef TESTS_UNIT_ADT_INTAKE_FIXTURE_H
#define TESTS_UNIT_ADT_INTAKE_FIXTURE_H

#include <stdlib.h>

#include "adt/ack.h"
#include "adt/intake.h"
#include "core/store.h"
#include "core/xmalloc.h"
#include "tests/lib/testlib.h"

struct intake_fx {
	char *dir;
	char *db;
	struct store_writer *w;
	struct intake *in;
	struct store *reader;
};

static inline void
intake_fx_init(struct intake_fx *f)
{
	struct intake_opts io = {0};
	struct err e = {0};

	f->dir = testlib_tmpdir();
	f->db = xasprintf("%s/t.db", f->dir);
	if (store_writer_new(f->db, NULL, &f->w, &e) != 0)
		fail_msg("writer: %s", e.msg);
	io.writer = f->w;
	io.ack_mode = ACK_MODE_AUTO;
	f->in = intake_new(&io);
	if (store_open(f->db, 0, &f->reader, &e) != 0)
		fail_msg("store: %s", e.msg);
}

static inline void
intake_fx_release(struct intake_fx *f)
{
	store_free(&f->reader);
	store_writer_free(&f->w);
	intake_free(&f->in);
	testlib_rmtree(f->dir);
	free(f->dir);
	free(f->db);
}

#endif
