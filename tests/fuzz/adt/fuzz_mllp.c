/* libFuzzer target: the MLLP framer, fed whole and in chunks whose sizes
 * come from the input; both must yield the same frames. Bit 3 of the
 * first byte turns discard mode on: oversized frames then complete cut to
 * their head, which is answered with ack_build_too_large. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adt/ack.h"
#include "adt/mllp.h"
#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
answer(const uint8_t *head, size_t n, uint64_t size)
{
	static const struct ack_opts o = {"C1", "20250101000000", "A", "F"};
	struct buf out;
	struct err e;
	int rc;

	buf_init(&out, BUF_UNLIMITED);
	rc = ack_build_too_large(head, n, size, 512, ACK_MODE_AUTO, &o, &out,
	    &e);
	if ((rc != 1 && out.len != 0) || (rc == 1 && out.len == 0))
		abort();
	buf_release(&out);
}

static int
run(const uint8_t *p, size_t n, size_t chunk, bool discard,
    struct buf *frames)
{
	struct mllp_framer *f = mllp_framer_new(512);
	struct err e;
	int rc = 0;

	mllp_framer_set_discard(f, discard);

	while (n > 0 && rc >= 0) {
		size_t take = chunk && chunk < n ? chunk : n, used;
		const uint8_t *q = p;

		p += take;
		n -= take;
		while (take > 0) {
			rc = mllp_framer_feed(f, q, take, &used, &e);
			if (rc < 0 && discard)
				abort();
			if (rc < 0)
				break;
			if (used > take)
				abort();
			if (rc == 1) {
				size_t fn;
				const uint8_t *fp = mllp_framer_frame(f, &fn);

				uint64_t size;

				if (fn > 512)
					abort();
				buf_append(frames, fp, fn);
				buf_putc(frames, 0xFF);
				if (mllp_framer_oversized(f, &size)) {
					if (!discard || fn != 512 || size <= 512)
						abort();
					buf_append(frames, &size, sizeof(size));
					if (chunk == 0)
						answer(fp, fn, size);
				}
			}
			q += used;
			take -= used;
		}
	}
	mllp_framer_free(&f);
	return rc < 0 ? -1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a, b;
	size_t chunk = size > 0 ? (size_t)(data[0] % 7) + 1 : 1;
	bool discard = size > 0 && (data[0] & 8) != 0;
	int ra, rb;

	buf_init(&a, BUF_UNLIMITED);
	buf_init(&b, BUF_UNLIMITED);
	ra = run(data, size, 0, discard, &a);
	rb = run(data, size, chunk, discard, &b);
	if (ra != rb || a.len != b.len ||
	    (a.len > 0 && memcmp(a.data, b.data, a.len) != 0))
		abort();
	buf_release(&a);
	buf_release(&b);
	return 0;
}
