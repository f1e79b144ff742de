#include "hisp/header.h"

#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"

size_t
header_section_len(const uint8_t *msg, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const uint8_t *eol = memchr(msg + i, '\n', len - i);
		size_t n = eol != NULL ? (size_t)(eol - (msg + i)) : len - i;

		if (n == 0 || (n == 1 && msg[i] == '\r'))
			return i + n + (eol != NULL);
		if (eol == NULL)
			return len;
		i += n + 1;
	}
	return len;
}

int
header_get(const uint8_t *msg, size_t len, const char *name, struct buf *out)
{
	size_t hlen = header_section_len(msg, len), nlen = strlen(name);
	size_t i = 0, start = out->len;
	bool in_field = false, found = false;

	while (i < hlen) {
		const uint8_t *eol = memchr(msg + i, '\n', hlen - i);
		size_t n = eol != NULL ? (size_t)(eol - (msg + i)) : hlen - i;
		const uint8_t *line = msg + i;
		size_t ln = n;

		if (ln > 0 && line[ln - 1] == '\r')
			ln--;
		if (ln > 0 && (line[0] == ' ' || line[0] == '\t')) {
			if (in_field && buf_append(out, line, ln) != 0)
				return -1;
		} else if (found) {
			break;
		} else if (ln > nlen && line[nlen] == ':' &&
		    strncasecmp((const char *)line, name, nlen) == 0) {
			in_field = found = true;
			if (buf_append(out, line + nlen + 1, ln - nlen - 1) != 0)
				return -1;
		} else {
			in_field = false;
		}
		i += n + 1;
	}
	if (!found)
		return 0;
	/* Trim the value in place. */
	{
		size_t b = start, e = out->len;

		while (b < e && (out->data[b] == ' ' || out->data[b] == '\t'))
			b++;
		while (e > b && (out->data[e - 1] == ' ' ||
		    out->data[e - 1] == '\t'))
			e--;
		memmove(out->data + start, out->data + b, e - b);
		buf_truncate(out, start + (e - b));
	}
	return 1;
}

char *
header_message_id(const uint8_t *msg, size_t len)
{
	struct buf v;
	char *id = NULL;

	buf_init(&v, 1000);
	if (header_get(msg, len, "Message-ID", &v) == 1 && v.len > 0 &&
	    v.len < 990 && memchr(v.data, '\0', v.len) == NULL)
		id = xstrdup(buf_cstr(&v));
	buf_release(&v);
	return id;
}

bool
header_contains(const uint8_t *msg, size_t len, const char *name,
    const char *needle)
{
	struct buf v;
	bool hit = false;

	buf_init(&v, 64 * 1024);
	if (header_get(msg, len, name, &v) == 1)
		hit = strcasestr(buf_cstr(&v), needle) != NULL;
	buf_release(&v);
	return hit;
}

bool
header_final_delivery_requested(const uint8_t *msg, size_t len)
{
	return header_contains(msg, len, "Disposition-Notification-Options",
	    "X-DIRECT-FINAL-DESTINATION-DELIVERY");
}
