#include "hisp/smtp_base64.h"

#include <stdint.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
smtp_base64_encode(const void *p, size_t n, struct buf *out)
{
	const uint8_t *in = p;
	char q[4];
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		q[0] = b64_alphabet[v >> 18 & 63];
		q[1] = b64_alphabet[v >> 12 & 63];
		q[2] = b64_alphabet[v >> 6 & 63];
		q[3] = b64_alphabet[v & 63];
		if (buf_append(out, q, 4) != 0)
			return -1;
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		q[0] = b64_alphabet[v >> 18 & 63];
		q[1] = b64_alphabet[v >> 12 & 63];
		q[2] = '=';
		q[3] = '=';
		if (buf_append(out, q, 4) != 0)
			return -1;
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		q[0] = b64_alphabet[v >> 18 & 63];
		q[1] = b64_alphabet[v >> 12 & 63];
		q[2] = b64_alphabet[v >> 6 & 63];
		q[3] = '=';
		if (buf_append(out, q, 4) != 0)
			return -1;
	}
	return 0;
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
smtp_base64_decode(const char *s, size_t n, struct buf *out)
{
	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		size_t pad = 0;
		uint8_t b[3];

		for (size_t j = 0; j < 4; j++) {
			if (s[i + j] == '=') {
				/* Padding only in the last quantum, at its end. */
				if (i + 4 != n || j < 2)
					return -1;
				pad++;
				v[j] = 0;
				continue;
			}
			if (pad > 0)
				return -1;
			v[j] = b64_value(s[i + j]);
			if (v[j] < 0)
				return -1;
		}
		/* Unused bits of the last character must be zero. */
		if (pad == 2 && (v[1] & 15) != 0)
			return -1;
		if (pad == 1 && (v[2] & 3) != 0)
			return -1;
		b[0] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		b[1] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
		b[2] = (uint8_t)((v[2] & 3) << 6 | v[3]);
		if (buf_append(out, b, 3 - pad) != 0)
			return -1;
	}
	return 0;
}
