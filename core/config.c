#include "core/config.h"

#include <assert.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "core/xmalloc.h"

struct config_entry {
	const struct config_def *def;
	char *value; /* text as given (or the default) */
	char *path;  /* CONFIG_PATH: resolved */
	int64_t num; /* INT, DURATION, SIZE */
	bool flag;   /* BOOL */
};

struct config {
	char *base_dir;
	struct config_entry *entries;
	size_t n;
	/* while loading */
	const char *load_name;
	const char *load_p; /* the rest of the text */
	int load_line;      /* lines handed to inih so far */
	int err_line;
	struct err load_err;
	bool load_failed;
};

static int config_assign(struct config *c, struct config_entry *ent,
    const char *value, struct err *e);

struct config *
config_new(const char *base_dir)
{
	struct config *c = xcalloc(1, sizeof(*c));

	c->base_dir = xstrdup(base_dir != NULL ? base_dir : ".");
	return c;
}

void
config_free(struct config **cp)
{
	struct config *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->entries[i].value);
		free(c->entries[i].path);
	}
	free(c->entries);
	free(c->base_dir);
	free(c);
	*cp = NULL;
}

static struct config_entry *
config_find(const struct config *c, const char *section, const char *name)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct config_def *d = c->entries[i].def;

		if (strcmp(d->section, section) == 0 &&
		    strcmp(d->name, name) == 0)
			return &c->entries[i];
	}
	return NULL;
}

static bool
config_has_section(const struct config *c, const char *section)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->entries[i].def->section, section) == 0)
			return true;
	return false;
}

void
config_add_defs(struct config *c, const struct config_def *defs)
{
	struct err e;

	for (const struct config_def *d = defs; d->name != NULL; d++) {
		struct config_entry *ent;

		/* Two tables defining one key is a programming error. */
		assert(config_find(c, d->section, d->name) == NULL);
		c->entries = xreallocarray(c->entries, c->n + 1,
		    sizeof(*c->entries));
		ent = &c->entries[c->n++];
		memset(ent, 0, sizeof(*ent));
		ent->def = d;
		if (config_assign(c, ent, d->def, &e) != 0) {
			fprintf(stderr, "config: bad default for [%s] %s: %s\n",
			    d->section, d->name, e.msg);
			abort();
		}
	}
}

static int
config_assign(struct config *c, struct config_entry *ent, const char *value,
    struct err *e)
{
	const struct config_def *d = ent->def;
	int64_t num = 0;
	uint64_t u;
	bool flag = false;

	switch (d->type) {
	case CONFIG_STR:
	case CONFIG_PATH:
		break;
	case CONFIG_INT:
		if (str_to_i64(value, d->min, d->max, &num) != 0)
			return err_set(e, ERR_CONFIG,
			    "'%s' is not a whole number from %lld to %lld",
			    value, (long long)d->min, (long long)d->max);
		break;
	case CONFIG_BOOL:
		if (str_to_bool(value, &flag) != 0)
			return err_set(e, ERR_CONFIG,
			    "'%s' is not yes or no", value);
		break;
	case CONFIG_DURATION:
		if (str_to_duration_ms(value, &num) != 0)
			return err_set(e, ERR_CONFIG,
			    "'%s' is not a duration (250ms, 30s, 5m, 1h, 5d)",
			    value);
		if (num < d->min || num > d->max)
			return err_set(e, ERR_CONFIG,
			    "'%s' is outside %lldms..%lldms", value,
			    (long long)d->min, (long long)d->max);
		break;
	case CONFIG_SIZE:
		if (str_to_size(value, &u) != 0 || u > INT64_MAX)
			return err_set(e, ERR_CONFIG,
			    "'%s' is not a size (512, 4k, 10M, 1G)", value);
		num = (int64_t)u;
		if (num < d->min || num > d->max)
			return err_set(e, ERR_CONFIG,
			    "'%s' is outside %lld..%lld bytes", value,
			    (long long)d->min, (long long)d->max);
		break;
	}
	free(ent->value);
	free(ent->path);
	ent->value = xstrdup(value);
	ent->path = NULL;
	if (d->type == CONFIG_PATH) {
		if (value[0] == '\0' || value[0] == '/')
			ent->path = xstrdup(value);
		else
			ent->path = xasprintf("%s/%s", c->base_dir, value);
	}
	ent->num = num;
	ent->flag = flag;
	return 0;
}

int
config_set(struct config *c, const char *section, const char *name,
    const char *value, struct err *e)
{
	struct config_entry *ent = config_find(c, section, name);

	if (ent == NULL) {
		if (!config_has_section(c, section))
			return err_set(e, ERR_CONFIG, "[%s]: unknown section",
			    section);
		return err_set(e, ERR_CONFIG, "[%s] %s: unknown key", section,
		    name);
	}
	if (config_assign(c, ent, value, e) != 0)
		return err_prefix(e, "[%s] %s", section, name);
	return 0;
}

static int
config_ini_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct config *c = user;
	struct err e;

	if (c->load_failed)
		return 0;
	if (name == NULL) /* a section header alone */
		return 1;
	if (section[0] == '\0') {
		err_set(&e, ERR_CONFIG, "%s: key outside a [section]", name);
		goto fail;
	}
	if (config_set(c, section, name, value, &e) != 0)
		goto fail;
	return 1;
fail:
	c->load_err = e;
	c->err_line = c->load_line;
	c->load_failed = true;
	return 0;
}

/* An fgets over the text that counts lines, so that errors found by the
 * handler can name their line. */
static char *
config_ini_reader(char *str, int num, void *stream)
{
	struct config *c = stream;
	int n = 0;

	if (*c->load_p == '\0' || num < 2)
		return NULL;
	while (n < num - 1 && c->load_p[n] != '\0') {
		str[n] = c->load_p[n];
		if (c->load_p[n++] == '\n')
			break;
	}
	str[n] = '\0';
	c->load_p += n;
	if (n > 0 && str[n - 1] == '\n')
		c->load_line++;
	else if (*c->load_p == '\0')
		c->load_line++;
	return str;
}

static int
config_finish_load(struct config *c, int rc, struct err *e)
{
	if (rc == 0 && !c->load_failed)
		return 0;
	if (rc == -2)
		return err_set(e, ERR_INTERNAL, "%s: out of memory",
		    c->load_name);
	/* Whichever came first: a syntax error (rc) or a bad key. */
	if (c->load_failed && (rc <= 0 || c->err_line <= rc))
		return err_set(e, ERR_CONFIG, "%s:%d: %s", c->load_name,
		    c->err_line, c->load_err.msg);
	return err_set(e, ERR_CONFIG, "%s:%d: syntax error", c->load_name,
	    rc);
}

int
config_load_file(struct config *c, const char *path, struct err *e)
{
	struct buf text;
	char chunk[4096];
	size_t n;
	FILE *f;
	int rc;

	if ((f = fopen(path, "r")) == NULL)
		return err_set(e, ERR_CONFIG, "%s: cannot open: %s", path,
		    strerror(errno));
	buf_init(&text, 1024 * 1024);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(&text, chunk, n) != 0) {
			fclose(f);
			buf_release(&text);
			return err_set(e, ERR_CONFIG, "%s: larger than 1 MiB",
			    path);
		}
	}
	rc = ferror(f);
	fclose(f);
	if (rc != 0) {
		buf_release(&text);
		return err_set(e, ERR_CONFIG, "%s: read error", path);
	}
	rc = config_load_string(c, buf_cstr(&text), path, e);
	buf_release(&text);
	return rc;
}

int
config_load_string(struct config *c, const char *text, const char *name,
    struct err *e)
{
	int rc;

	c->load_name = name;
	c->load_p = text;
	c->load_line = 0;
	c->err_line = 0;
	c->load_failed = false;
	rc = ini_parse_stream(config_ini_reader, c, config_ini_handler, c);
	return config_finish_load(c, rc, e);
}

static const struct config_entry *
config_get(const struct config *c, const char *section, const char *name)
{
	const struct config_entry *ent = config_find(c, section, name);

	if (ent == NULL) {
		fprintf(stderr, "config: no such key [%s] %s\n", section,
		    name);
		abort();
	}
	return ent;
}

const char *
config_str(const struct config *c, const char *section, const char *name)
{
	return config_get(c, section, name)->value;
}

const char *
config_path(const struct config *c, const char *section, const char *name)
{
	const struct config_entry *ent = config_get(c, section, name);

	return ent->path != NULL ? ent->path : ent->value;
}

int64_t
config_int(const struct config *c, const char *section, const char *name)
{
	return config_get(c, section, name)->num;
}

bool
config_bool(const struct config *c, const char *section, const char *name)
{
	return config_get(c, section, name)->flag;
}

const char *
config_base_dir(const struct config *c)
{
	return c->base_dir;
}

void
config_dump(const struct config *c, struct buf *out)
{
	const char *section = NULL;

	for (size_t i = 0; i < c->n; i++) {
		const struct config_entry *ent = &c->entries[i];

		if (section == NULL || strcmp(section, ent->def->section) != 0) {
			/* Gather each section's keys once, in table order. */
			bool seen = false;

			for (size_t j = 0; j < i; j++)
				if (strcmp(c->entries[j].def->section,
				    ent->def->section) == 0)
					seen = true;
			if (seen)
				continue;
			section = ent->def->section;
			buf_printf(out, "%s[%s]\n", i > 0 ? "\n" : "", section);
			for (size_t j = i; j < c->n; j++) {
				const struct config_entry *x = &c->entries[j];

				if (strcmp(x->def->section, section) != 0)
					continue;
				buf_printf(out, "# %s\n%s = %s\n",
				    x->def->help ? x->def->help : "",
				    x->def->name, x->value);
			}
		}
	}
}
