/* libFuzzer target: the MLLP framer, fed whole and in chunks whose sizes
 * come from the input; both must yield the same frames. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adt/mllp.h"
#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run(const uint8_t *p, size_t n, size_t chunk, struct buf *frames)
{
	struct mllp_framer *f = mllp_framer_new(512);
	struct err e;
	int rc = 0;

	while (n > 0 && rc >= 0) {
		size_t take = chunk && chunk < n ? chunk : n, used;
		const uint8_t *q = p;

		p += take;
		n -= take;
		while (take > 0) {
			rc = mllp_framer_feed(f, q, take, &used, &e);
			if (rc < 0)
				break;
			if (used > take)
				abort();
			if (rc == 1) {
				size_t fn;
				const uint8_t *fp = mllp_framer_frame(f, &fn);

				if (fn > 512)
					abort();
				buf_append(frames, fp, fn);
				buf_putc(frames, 0xFF);
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
	int ra, rb;

	buf_init(&a, BUF_UNLIMITED);
	buf_init(&b, BUF_UNLIMITED);
	ra = run(data, size, 0, &a);
	rb = run(data, size, chunk, &b);
	if (ra != rb || a.len != b.len ||
	    (a.len > 0 && memcmp(a.data, b.data, a.len) != 0))
		abort();
	buf_release(&a);
	buf_release(&b);
	return 0;
}
