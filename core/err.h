/* Error object: a kind and a one-line message. Functions return 0 / -1 and
 * fill a caller-supplied struct err (the last parameter; may be NULL). The
 * kind maps to SMTP 4xx/5xx, DSN action, MDN disposition and MLLP AR/AE. */
#ifndef CORE_ERR_H
#define CORE_ERR_H

#include <stdbool.h>

enum err_kind {
	ERR_NONE = 0,
	ERR_TEMP,     /* try again later: 4xx, AR */
	ERR_PERM,     /* will not work as it is: 5xx, AE */
	ERR_PROTO,    /* the peer broke the protocol */
	ERR_CONFIG,   /* configuration or usage error */
	ERR_INTERNAL, /* a bug or an impossible state */
};

#define ERR_MSG_MAX 256

struct err {
	enum err_kind kind;
	char msg[ERR_MSG_MAX];
};

/* Sets kind and message (truncated to fit) and returns -1, so that
 * `return err_set(e, ERR_PERM, "...")` reads naturally. e may be NULL. */
int err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes the existing message with "prefix: "; returns -1. */
int err_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void err_clear(struct err *e);
/* "temp", "perm", "proto", "config", "internal", "none". */
const char *err_kind_name(enum err_kind kind);
bool err_is_temp(const struct err *e);

#endif
