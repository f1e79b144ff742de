#include "certs/http.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "core/str.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_status = CURLE_FAILED_INIT;

static void
curl_init(void)
{
	curl_init_status = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
http_url_is_http(const char *url)
{
	return str_casebegins(url, "http://") || str_casebegins(url, "https://");
}

struct sink {
	struct buf *out;
	size_t start;
	size_t max;
	bool over;
};

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (s->out->len - s->start + n > s->max ||
	    buf_append(s->out, p, n) != 0) {
		s->over = true;
		return 0; /* aborts the transfer */
	}
	return n;
}

int
http_fetch_default(void *arg, const char *url, size_t max_size,
    int64_t timeout_ms, struct buf *out, struct err *e)
{
	char errbuf[CURL_ERROR_SIZE];
	struct sink s = {out, out->len, max_size, false};
	const char *protos = "http,https,file";
	char *path_url = NULL;
	long code = 0;
	CURLcode rc;
	CURL *c;

	(void)arg;
	if (url == NULL || *url == '\0')
		return err_set(e, ERR_PERM, "empty URL");
	if (url[0] == '/') {
		size_t n = strlen(url) + 8;

		path_url = malloc(n);
		if (path_url == NULL)
			abort();
		str_fmt(path_url, n, "file://%s", url);
		url = path_url;
	} else if (!http_url_is_http(url) && !str_casebegins(url, "file://"))
		return err_set(e, ERR_PERM, "unsupported URL scheme: %.80s", url);
	pthread_once(&curl_once, curl_init);
	if (curl_init_status != CURLE_OK) {
		free(path_url);
		return err_set(e, ERR_TEMP, "libcurl initialization failed");
	}
	c = curl_easy_init();
	if (c == NULL) {
		free(path_url);
		return err_set(e, ERR_TEMP, "libcurl: cannot create a handle");
	}
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protos);
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_size);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "directgate/" DG_VERSION);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 0L);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (s.over || rc == CURLE_FILESIZE_EXCEEDED) {
		err_set(e, ERR_PERM, "%.120s: larger than %zu bytes", url,
		    max_size);
		free(path_url);
		return -1;
	}
	if (rc != CURLE_OK) {
		enum err_kind k = ERR_TEMP;

		if (rc == CURLE_UNSUPPORTED_PROTOCOL ||
		    rc == CURLE_URL_MALFORMAT || rc == CURLE_FILE_COULDNT_READ_FILE)
			k = ERR_PERM;
		err_set(e, k, "%.120s: %s", url,
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
		free(path_url);
		return -1;
	}
	free(path_url);
	/* file:// answers code 0. */
	if (code != 0 && (code < 200 || code > 299))
		return err_set(e, code >= 500 ? ERR_TEMP : ERR_PERM,
		    "%.120s: HTTP status %ld", url, code);
	return 0;
}
