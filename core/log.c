#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/str.h"

#define LOG_LINE_MAX 2048

static char log_ident[32] = "directgate";
static _Atomic int log_min = LOG_LEVEL_INFO;
static _Atomic int log_fd = STDERR_FILENO;
static _Atomic bool log_syslog;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_path[1024];

static const char *const log_names[] = {"debug", "info", "warn", "error"};

void
log_init(const char *ident, enum log_level min)
{
	str_lcpy(log_ident, ident, sizeof(log_ident));
	log_min = min;
}

void
log_set_level(enum log_level min)
{
	log_min = min;
}

enum log_level
log_get_level(void)
{
	return (enum log_level)log_min;
}

int
log_level_parse(const char *s, enum log_level *l_r)
{
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, log_names[i]) == 0) {
			*l_r = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*l_r = LOG_LEVEL_WARN;
		return 0;
	}
	return -1;
}

void
log_use_syslog(bool on)
{
	if (on && !log_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	log_syslog = on;
}

static int
log_open_path(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int
log_open_file(const char *path)
{
	int fd, old;

	if (str_lcpy(log_path, path, sizeof(log_path)) >= sizeof(log_path))
		return -1;
	if ((fd = log_open_path(path)) < 0)
		return -1;
	pthread_mutex_lock(&log_lock);
	old = log_fd;
	log_fd = fd;
	pthread_mutex_unlock(&log_lock);
	if (old != STDERR_FILENO)
		close(old);
	return 0;
}

void
log_reopen(void)
{
	int fd, old;

	if (log_path[0] == '\0')
		return;
	if ((fd = log_open_path(log_path)) < 0)
		return;
	pthread_mutex_lock(&log_lock);
	old = log_fd;
	log_fd = fd;
	pthread_mutex_unlock(&log_lock);
	if (old != STDERR_FILENO)
		close(old);
}

void
log_msg(enum log_level level, const char *id, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	size_t n = 0;
	va_list ap;
	int w;

	if ((int)level < log_min)
		return;
	if (!log_syslog) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		w = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s[%ld]: ",
		    ts.tv_nsec / 1000000, log_ident, (long)getpid());
		if (w > 0)
			n += (size_t)w;
	}
	w = snprintf(line + n, sizeof(line) - n, "level=%s%s%s ",
	    log_names[level], id != NULL ? " id=" : "", id != NULL ? id : "");
	if (w > 0)
		n += (size_t)w;
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (w > 0)
			n += (size_t)w;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	/* One line per event, whatever the message held. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (log_syslog) {
		static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING,
			LOG_ERR};

		line[n] = '\0';
		syslog(prio[level], "%s", line);
		return;
	}
	line[n++] = '\n';
	pthread_mutex_lock(&log_lock);
	while (write(log_fd, line, n) < 0 && errno == EINTR)
		;
	pthread_mutex_unlock(&log_lock);
}

const char *
log_safe(char *dst, unsigned size, const char *src)
{
	unsigned i = 0;

	if (size == 0)
		return dst;
	if (src == NULL)
		src = "";
	for (; *src != '\0' && i + 1 < size; src++) {
		unsigned char c = (unsigned char)*src;

		dst[i++] = (c <= ' ' || c == '"' || c == '=' || c >= 0x7f)
		    ? '?' : (char)c;
	}
	dst[i] = '\0';
	return dst;
}
