/* Logging: one key=value line per event, carrying a session, queue or
 * message id. Never log PHI: ids, event types, sizes and digests only; no
 * names, birth dates, subjects or bodies. Thread-safe: each line is one
 * write(2). Output goes to stderr (default), a file, or syslog. */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

/* ident is the program name; called once at start (tests may call again). */
void log_init(const char *ident, enum log_level min);
void log_set_level(enum log_level min);
enum log_level log_get_level(void);
/* Parses "debug", "info", "warn", "error". */
int log_level_parse(const char *s, enum log_level *l_r);
/* Sends lines to syslog (facility mail) instead of stderr. */
void log_use_syslog(bool on);
/* Appends lines to path; -1 if it cannot be opened (logging unchanged). */
int log_open_file(const char *path);
/* Reopens the file given to log_open_file (SIGHUP, after rotation). */
void log_reopen(void);

/* fmt produces the key=value part: log_info("Q12", "to=<%s> status=sent", a).
 * id may be NULL. */
void log_msg(enum log_level level, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define log_debug(id, ...) log_msg(LOG_LEVEL_DEBUG, id, __VA_ARGS__)
#define log_info(id, ...) log_msg(LOG_LEVEL_INFO, id, __VA_ARGS__)
#define log_warn(id, ...) log_msg(LOG_LEVEL_WARN, id, __VA_ARGS__)
#define log_error(id, ...) log_msg(LOG_LEVEL_ERROR, id, __VA_ARGS__)

/* Makes a value safe for a key=value line: control characters, spaces,
 * quotes and '=' are replaced, length is capped. Returns dst. For ids and
 * addresses (never PHI). */
const char *log_safe(char *dst, unsigned size, const char *src);

#endif
