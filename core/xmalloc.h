/* Allocation that aborts on failure (a daemon's choice: Postfix mymalloc,
 * OpenSMTPD xmalloc). Growth driven by input is bounded by the caller
 * (core/buf.h), never by running out of memory. */
#ifndef CORE_XMALLOC_H
#define CORE_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
/* Overflow-checked nmemb * size; aborts on overflow. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Duplicates n bytes and appends a NUL. */
void *xmemdup(const void *p, size_t n);

#endif
