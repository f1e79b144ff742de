/* Fuzz target: the bounds-checked reader, driven by its own input as a
 * little program (opcode byte, then operands), checking its invariants. */
#include <stdint.h>
#include <stdlib.h>

#include "core/rd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r, sub;
	const uint8_t *p;
	uint8_t op, v8, tmp[8];
	uint16_t v16;
	uint32_t v32;
	size_t n;

	rd_init(&r, data, size);
	/* rd_seek may go back: bound the steps, not only the input. */
	for (size_t steps = 0; steps < 4 * size + 16 &&
	    rd_u8(&r, &op) == 0; steps++) {
		size_t before = rd_offset(&r);

		switch (op % 9) {
		case 0: rd_u8(&r, &v8); break;
		case 1: rd_u16be(&r, &v16); break;
		case 2: rd_u32be(&r, &v32); break;
		case 3: rd_u8(&r, &v8); rd_bytes(&r, v8, &p); break;
		case 4: rd_u8(&r, &v8); rd_skip(&r, v8); break;
		case 5: rd_u16be(&r, &v16); rd_seek(&r, v16); break;
		case 6: rd_u8(&r, &v8); rd_until(&r, v8, &p, &n); break;
		case 7: rd_copy(&r, tmp, sizeof(tmp)); break;
		case 8: rd_u8(&r, &v8); rd_sub(&r, v8, &sub);
			while (rd_u8(&sub, &v8) == 0)
				;
			break;
		}
		if (rd_offset(&r) > size)
			abort();
		if (rd_failed(&r)) {
			if (rd_remaining(&r) != 0 || rd_u8(&r, &v8) != -1 ||
			    v8 != 0)
				abort();
			break;
		}
		(void)before;
	}
	return 0;
}
