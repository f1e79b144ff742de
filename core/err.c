#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->kind = kind;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
err_prefix(struct err *e, const char *fmt, ...)
{
	char out[ERR_MSG_MAX];
	size_t n, m;
	va_list ap;
	int w;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	w = vsnprintf(out, sizeof(out), fmt, ap);
	va_end(ap);
	n = w < 0 ? 0 : (size_t)w < sizeof(out) ? (size_t)w : sizeof(out) - 1;
	if (n + 2 < sizeof(out)) {
		out[n++] = ':';
		out[n++] = ' ';
		m = strnlen(e->msg, sizeof(e->msg));
		if (m > sizeof(out) - 1 - n)
			m = sizeof(out) - 1 - n;
		memcpy(out + n, e->msg, m);
		n += m;
	}
	out[n] = '\0';
	memcpy(e->msg, out, n + 1);
	if (e->kind == ERR_NONE)
		e->kind = ERR_INTERNAL;
	return -1;
}

void
err_clear(struct err *e)
{
	if (e == NULL)
		return;
	e->kind = ERR_NONE;
	e->msg[0] = '\0';
}

const char *
err_kind_name(enum err_kind kind)
{
	switch (kind) {
	case ERR_NONE:
		return "none";
	case ERR_TEMP:
		return "temp";
	case ERR_PERM:
		return "perm";
	case ERR_PROTO:
		return "proto";
	case ERR_CONFIG:
		return "config";
	case ERR_INTERNAL:
		return "internal";
	}
	return "unknown";
}

bool
err_is_temp(const struct err *e)
{
	return e != NULL && e->kind == ERR_TEMP;
}
