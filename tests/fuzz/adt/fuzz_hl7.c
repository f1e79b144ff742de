/* libFuzzer target: the HL7 reader, parser, path access, validation,
 * writer (round trip), unescape and the ACK builder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adt/ack.h"
#include "adt/hl7.h"
#include "adt/hl7_reader.h"
#include "adt/hl7_validate.h"
#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
exercise(const uint8_t *p, size_t n)
{
	static const char *paths[] = {"MSH-9.2", "PID-3[2].4", "PID-5.1.1",
	    "MSH-1", "MSH-2", "PV1-3.1", "ZZZ[2]-1", NULL};
	struct hl7_msg *m = NULL;
	struct hl7_validation v;
	struct err e;
	struct buf out;
	const uint8_t *d;
	size_t dn;
	struct ack_opts o = {"C1", "20250101000000", "A", "F"};

	if (hl7_parse(p, n, &m, &e) != 0)
		return;
	buf_init(&out, BUF_UNLIMITED);
	/* writing back reproduces the normalized bytes */
	if (hl7_msg_write(m, &out) != 0)
		abort();
	d = hl7_msg_data(m, &dn);
	if (out.len != dn || memcmp(out.data, d, dn) != 0)
		abort();
	for (int i = 0; paths[i]; i++) {
		buf_reset(&out);
		(void)hl7_msg_path_text(m, paths[i], &out);
	}
	for (size_t s = 0; s < hl7_msg_nsegs(m) && s < 50; s++)
		for (unsigned f = 0; f < hl7_msg_nfields(m, s) && f < 50; f++) {
			unsigned nr = hl7_msg_count_reps(m, s, f);

			for (unsigned r = 1; r <= nr && r < 5; r++) {
				const uint8_t *vp;
				size_t vn;

				(void)hl7_msg_get_at(m, s, f, r, 2, 1, &vp,
				    &vn);
				buf_reset(&out);
				(void)hl7_unescape(hl7_msg_delims(m), vp, vn,
				    &out);
			}
		}
	hl7_validate(m, &v);
	buf_reset(&out);
	if (ack_build(m, v.nerrors ? ACK_AE : ACK_AA, v.problems, v.nproblems,
	    &o, &out, &e) == 0) {
		struct ack_info a;

		if (ack_parse(out.data, out.len, &a, &e) != 0)
			abort(); /* our own ACKs always read back */
	}
	buf_release(&out);
	hl7_msg_free(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hl7_split s;
	struct err e;

	exercise(data, size);
	if (hl7_reader_split(data, size, 1 << 20, &s, &e) > 0) {
		for (size_t i = 0; i < s.count; i++)
			exercise(s.data + s.offs[i], s.lens[i]);
		hl7_reader_split_release(&s);
	}
	return 0;
}
