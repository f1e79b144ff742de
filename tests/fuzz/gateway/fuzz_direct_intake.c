/* libFuzzer target: the Direct intake's MIME walk (entity parsing,
 * multipart splitting, nesting, transfer decoding) and the HL7 sniffing
 * of each leaf (intake_is_hl7), through direct_intake_walk, the function
 * direct_intake_hook itself uses. No store: each HL7 part found is only
 * read. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/direct_intake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	unsigned parts;
	uint64_t sum;
};

static void
on_part(void *arg, const char *content_type, const uint8_t *body, size_t n)
{
	struct seen *s = arg;

	s->parts++;
	/* every byte of the part and its type must be readable */
	s->sum += strlen(content_type);
	for (size_t i = 0; i < n; i++)
		s->sum += body[i];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = {0, 0};
	uint8_t *copy;
	unsigned found;

	/* An exact-size copy, so that a read past the end is caught. */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		abort();
	if (size > 0)
		memcpy(copy, data, size);
	found = direct_intake_walk(copy, size, on_part, &s);
	if (found != s.parts)
		abort();
	free(copy);
	return 0;
}
