/* `directgate directory`: import, show, export and route against the
 * Health Directory (adt/directory*.h). */
#include "gateway/cmd.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adt/directory.h"
#include "adt/directory_fhir.h"
#include "adt/directory_export.h"
#include "adt/directory_import.h"
#include "core/buf.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "gateway/instance.h"

/* Exit status of `directory route` when the member cannot be routed. */
#define DIR_EXIT_NOT_ROUTED 3

static void
dir_put(struct buf *out)
{
	if (out->len > 0)
		fwrite(out->data, 1, out->len, stdout);
	fflush(stdout);
	buf_reset(out);
}

static int
dir_open(const char *dir, struct instance **in_r, struct store **s_r)
{
	struct err e;

	if (instance_open(dir, in_r, &e) != 0)
		return cmd_fail("%s", e.msg);
	*s_r = instance_store(*in_r, &e);
	if (*s_r == NULL) {
		instance_free(in_r);
		return cmd_fail("store: %s", e.msg);
	}
	return 0;
}

/* Reads a whole file of at most max bytes into out. */
static int
dir_read_file(const char *path, size_t max, struct buf *out, struct err *e)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;

	buf_init(out, max);
	if (f == NULL)
		return err_set(e, ERR_PERM, "%s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(out, chunk, n) != 0) {
			fclose(f);
			buf_release(out);
			return err_set(e, ERR_PERM, "%s: larger than %zu bytes "
			    "(refused)", path, max);
		}
	}
	if (ferror(f)) {
		fclose(f);
		buf_release(out);
		return err_set(e, ERR_PERM, "%s: read error", path);
	}
	fclose(f);
	return 0;
}

static const char *
dir_basename(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* The table a CSV file holds, from its name: "providers.csv",
 * "site_providers.csv", "provider.csv". */
static int
dir_table_from_name(const char *path, enum directory_table *t_r)
{
	char stem[256];
	char *dot;

	str_lcpy(stem, dir_basename(path), sizeof(stem));
	dot = strrchr(stem, '.');
	if (dot != NULL)
		*dot = '\0';
	str_lower(stem);
	for (int t = 0; t < DIRECTORY_TABLE_COUNT; t++) {
		char single[32];
		const char *name = directory_table_name(t);

		str_lcpy(single, name, sizeof(single));
		single[strlen(single) - 1] = '\0';
		if (str_ends(stem, name) || str_ends(stem, single)) {
			*t_r = (enum directory_table)t;
			return 0;
		}
	}
	return -1;
}

static bool
dir_looks_xml(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == 0xef && i == 0 && b->len >= 3) {
			i += 2;
			continue;
		}
		if (!isspace(b->data[i]))
			return b->data[i] == '<';
	}
	return false;
}

static void
dir_import_usage(void)
{
	printf("usage: directgate directory import FILE... "
	    "[--format csv|fhir]\n"
	    "           [--table providers|organizations|memberships|"
	    "endpoints|preferences]\n"
	    "           [--strict] [--json] [--dir DIR]\n\n"
	    "Loads Health Directory data in one transaction. CSV files hold "
	    "one table\neach (named by --table or by the file name, e.g. "
	    "providers.csv); FHIR\nR4 XML Bundles (Practitioner, "
	    "Organization, PractitionerRole, Endpoint)\nfill every table. "
	    "The format comes from --format, else from the file\nextension "
	    "(.csv, .xml), else from the content.\n\n"
	    "Bad rows are reported (file, row, column, code, message) and "
	    "skipped;\nwith --strict any bad row loads nothing. A file that "
	    "cannot be read as a\nwhole (bad header, XML refused: DOCTYPE "
	    "with entities, external\nreferences, too deep, too large) "
	    "loads nothing.\n\n"
	    "Exit status: 0 imported (see the report for skipped rows), "
	    "1 nothing\nimported, 2 usage.\n");
}

static int
dir_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"table", required_argument, NULL, 't'},
		{"strict", no_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir(), *format = NULL;
	enum directory_table table = DIRECTORY_PROVIDERS;
	bool have_table = false, json = false;
	unsigned flags = 0;
	struct directory_rows *rows = NULL;
	struct directory_report *rep = NULL;
	struct instance *in = NULL;
	struct store *s;
	struct buf out;
	struct err e;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "f:t:sjd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "csv") != 0 &&
			    strcmp(optarg, "fhir") != 0)
				return cmd_usage_error("directory import",
				    "--format is csv or fhir");
			format = optarg;
			break;
		case 't':
			if (directory_table_parse(optarg, &table) != 0)
				return cmd_usage_error("directory import",
				    "unknown table '%s'", optarg);
			have_table = true;
			break;
		case 's':
			flags |= DIRECTORY_IMPORT_STRICT;
			break;
		case 'j':
			json = true;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			dir_import_usage();
			return 0;
		default:
			return cmd_usage_error("directory import",
			    "bad option");
		}
	}
	if (optind >= argc)
		return cmd_usage_error("directory import", "no FILE given");
	rows = directory_rows_new();
	rep = directory_report_new();
	buf_init(&out, BUF_UNLIMITED);
	err_clear(&e);
	/* Gather every file first: a file refused as a whole loads
	 * nothing at all. */
	for (int i = optind; i < argc; i++) {
		const char *path = argv[i];
		const char *fmt = format;
		enum directory_table t = table;
		struct buf data;

		if (dir_read_file(path, DIRECTORY_IMPORT_FILE_MAX, &data,
		    &e) != 0) {
			directory_report_add(rep, true, dir_basename(path), 0,
			    NULL, "unreadable", "%s", e.msg);
			goto report;
		}
		if (fmt == NULL) {
			if (str_ends(path, ".xml") || str_ends(path, ".XML"))
				fmt = "fhir";
			else if (str_ends(path, ".csv") ||
			    str_ends(path, ".CSV"))
				fmt = "csv";
			else
				fmt = dir_looks_xml(&data) ? "fhir" : "csv";
		}
		if (strcmp(fmt, "fhir") == 0) {
			rc = directory_fhir_parse(data.data, data.len,
			    dir_basename(path), rows, rep, &e);
		} else {
			if (!have_table &&
			    dir_table_from_name(path, &t) != 0) {
				buf_release(&data);
				directory_rows_free(&rows);
				directory_report_free(&rep);
				return cmd_usage_error("directory import",
				    "cannot tell the table of %s from its "
				    "name: give --table", path);
			}
			rc = directory_import_csv(rows, t, data.data,
			    data.len, dir_basename(path), rep);
			if (rc != 0)
				str_fmt(e.msg, sizeof(e.msg), "%s: %s",
				    dir_basename(path),
				    rep->nproblems > 0 ? rep->problems[
				    rep->nproblems - 1].message :
				    "refused");
		}
		buf_release(&data);
		if (rc != 0)
			goto report;
	}
	if (dir_open(dir, &in, &s) != 0) {
		rc = 1;
		goto out;
	}
	if (directory_import_apply(s, rows, flags, rep, &e) != 0) {
		rc = cmd_fail("%s", e.msg);
		goto out;
	}
report:
	/* A refused import says so in one line (stderr); the report
	 * lists row problems. */
	if (json)
		directory_report_json(rep, &out);
	else if (!rep->fatal)
		directory_report_text(rep, &out);
	dir_put(&out);
	if (rep->fatal)
		rc = cmd_fail("%s (nothing was loaded)", e.msg[0] != '\0' ?
		    e.msg : "import refused");
	else if (!rep->committed)
		rc = cmd_fail("%zu problem%s; --strict: nothing was loaded",
		    rep->total, rep->total == 1 ? "" : "s");
	else
		rc = 0;
out:
	buf_release(&out);
	directory_rows_free(&rows);
	directory_report_free(&rep);
	instance_free(&in);
	return rc;
}

static void
dir_target_json(struct buf *out, const struct directory_target *t)
{
	buf_printf(out, "{\"endpoint_id\":%lld,\"owner_npi\":\"%s\","
	    "\"via_organization\":%s,\"kind\":\"%s\",\"address\":",
	    (long long)t->endpoint_id, t->owner_npi,
	    t->via_organization ? "true" : "false",
	    directory_kind_name(t->kind));
	directory_report_json_str(out, t->address);
	buf_printf(out, ",\"rank\":%d,\"format\":\"%s\",\"timing\":\"",
	    t->rank, directory_format_name(t->format));
	if (t->digest)
		buf_printf(out, "%02d:%02d\"}", t->digest_minute / 60,
		    t->digest_minute % 60);
	else
		buf_append_str(out, "realtime\"}");
}

static void
dir_route_json(struct buf *out, const char *event, char pclass,
    const struct directory_route *r)
{
	buf_printf(out, "{\"event\":\"%s\",\"class\":", event);
	if (pclass != '\0')
		buf_printf(out, "\"%c\"", pclass);
	else
		buf_append_str(out, "null");
	buf_printf(out, ",\"status\":\"%s\",\"reason\":\"%s\",\"detail\":",
	    directory_route_status_name(r->status), r->reason);
	directory_report_json_str(out, r->detail);
	buf_append_str(out, ",\"targets\":[");
	for (size_t i = 0; i < r->ntargets; i++) {
		if (i > 0)
			buf_putc(out, ',');
		dir_target_json(out, &r->targets[i]);
	}
	buf_append_str(out, "]}");
}

static void
dir_route_text(struct buf *out, const struct directory_route *r)
{
	const struct directory_target *t = &r->targets[0];

	if (r->status != DIRECTORY_ROUTED) {
		buf_printf(out, "%s (%s: %s)",
		    directory_route_status_name(r->status), r->reason,
		    r->detail);
		return;
	}
	buf_printf(out, "%s %s rank %d %s%s", directory_kind_name(t->kind),
	    t->address, t->rank, t->via_organization ? "via organization " :
	    "", t->via_organization ? t->owner_npi : "");
	if (t->digest)
		buf_printf(out, "%sdaily digest %02d:%02d",
		    t->via_organization ? " " : "", t->digest_minute / 60,
		    t->digest_minute % 60);
	else
		buf_printf(out, "%srealtime", t->via_organization ? " " : "");
	if (r->ntargets > 1)
		buf_printf(out, " (fallback: %s %s)",
		    directory_kind_name(r->targets[1].kind),
		    r->targets[1].address);
}

static int
dir_class_parse(const char *s, char *c_r)
{
	if (strlen(s) != 1 || !isalpha((unsigned char)s[0]))
		return -1;
	*c_r = (char)toupper((unsigned char)s[0]);
	return 0;
}

static int
dir_event_parse(const char *s, char *dst)
{
	char norm[256];

	if (strlen(s) != 3 ||
	    directory_events_normalize(s, norm, sizeof(norm), NULL) != 0 ||
	    strcmp(norm, "*") == 0)
		return -1;
	str_lcpy(dst, norm, 4);
	return 0;
}

static int
dir_route_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{"event", required_argument, NULL, 'e'},
		{"class", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir();
	char event[4] = "", pclass = '\0';
	bool json = false;
	struct directory_route r;
	struct instance *in = NULL;
	struct store *s;
	struct buf out;
	struct err e;
	int c, rc;

	while ((c = getopt_long(argc, argv, "e:c:jd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (dir_event_parse(optarg, event) != 0)
				return cmd_usage_error("directory route",
				    "--event is an ADT trigger (A01..A62)");
			break;
		case 'c':
			if (dir_class_parse(optarg, &pclass) != 0)
				return cmd_usage_error("directory route",
				    "--class is one letter (E, I, O, V...)");
			break;
		case 'j':
			json = true;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			printf("usage: directgate directory route NPI --event "
			    "A01 [--class I] [--json] [--dir DIR]\n\n"
			    "Shows where a notification of this event for a "
			    "patient of this class\n(PV1-2) would go for the "
			    "care-team member NPI: its best-ranked active\n"
			    "endpoint whose preferences admit the event, "
			    "else its organization's.\n\n"
			    "Exit status: 0 routed, 3 declined by preferences "
			    "or undeliverable,\n1 error, 2 usage.\n");
			return 0;
		default:
			return cmd_usage_error("directory route",
			    "bad option");
		}
	}
	if (optind + 1 != argc)
		return cmd_usage_error("directory route", "give one NPI");
	if (event[0] == '\0')
		return cmd_usage_error("directory route", "--event is "
		    "required");
	if (dir_open(dir, &in, &s) != 0)
		return 1;
	if (directory_route(s, argv[optind], event, pclass, &r, &e) != 0) {
		instance_free(&in);
		return cmd_fail("route: %s", e.msg);
	}
	buf_init(&out, BUF_UNLIMITED);
	if (json) {
		buf_printf(&out, "{\"npi\":");
		directory_report_json_str(&out, argv[optind]);
		buf_append_str(&out, ",\"route\":");
		dir_route_json(&out, event, pclass, &r);
		buf_append_str(&out, "}\n");
	} else {
		buf_printf(&out, "%s %s %c: ", argv[optind], event,
		    pclass != '\0' ? pclass : '-');
		dir_route_text(&out, &r);
		buf_putc(&out, '\n');
	}
	dir_put(&out);
	buf_release(&out);
	instance_free(&in);
	rc = r.status == DIRECTORY_ROUTED ? 0 : DIR_EXIT_NOT_ROUTED;
	return rc;
}

static const char *const dir_show_events[] = {"A01", "A02", "A03", "A04",
	"A08", NULL};
static const char dir_show_classes[] = "EIO";

static int
dir_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir();
	char npi[DIRECTORY_NPI_LEN + 1], tbuf[16];
	bool json = false, is_org = false;
	struct directory_provider p;
	struct directory_organization o;
	struct directory_membership *ms = NULL;
	struct directory_endpoint *eps = NULL;
	struct directory_preference *prefs = NULL;
	size_t nms = 0, neps = 0, nprefs = 0;
	struct instance *in = NULL;
	struct store *s;
	struct buf out;
	struct err e;
	const char *arg;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "jd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			printf("usage: directgate directory show NPI|ADDRESS "
			    "[--json] [--dir DIR]\n\n"
			    "Shows a provider or organization (by NPI, or by "
			    "one of its endpoint\naddresses: a Direct address "
			    "or host:port), its memberships, endpoints,\n"
			    "preferences, and where events A01 A02 A03 A04 "
			    "A08 would be routed\nfor patient classes E, I "
			    "and O.\n");
			return 0;
		default:
			return cmd_usage_error("directory show", "bad option");
		}
	}
	if (optind + 1 != argc)
		return cmd_usage_error("directory show",
		    "give one NPI or address");
	arg = argv[optind];
	if (dir_open(dir, &in, &s) != 0)
		return 1;
	buf_init(&out, BUF_UNLIMITED);
	if (strchr(arg, '@') != NULL || strchr(arg, ':') != NULL) {
		int r = directory_find_address(s, arg, npi, &e);

		if (r < 0) {
			rc = cmd_fail("show: %s", e.msg);
			goto out;
		}
		if (r == 0) {
			rc = cmd_fail("no endpoint with address %s", arg);
			goto out;
		}
	} else {
		str_lcpy(npi, arg, sizeof(npi));
		if (strlen(arg) != DIRECTORY_NPI_LEN) {
			rc = cmd_fail("'%s' is neither an NPI nor an "
			    "address", arg);
			goto out;
		}
	}
	c = directory_provider_get(s, npi, &p, &e);
	if (c == 0) {
		c = directory_organization_get(s, npi, &o, &e);
		is_org = true;
	}
	if (c < 0) {
		rc = cmd_fail("show: %s", e.msg);
		goto out;
	}
	if (c == 0) {
		rc = cmd_fail("NPI %s is not in the directory", npi);
		goto out;
	}
	if (directory_membership_list(s, is_org ? NULL : npi,
	    is_org ? npi : NULL, &ms, &nms, &e) != 0 ||
	    directory_endpoint_list(s, npi, &eps, &neps, &e) != 0 ||
	    directory_preference_list(s, npi, &prefs, &nprefs, &e) != 0) {
		rc = cmd_fail("show: %s", e.msg);
		goto out;
	}
	if (json) {
		buf_printf(&out, "{\"npi\":\"%s\",\"type\":\"%s\",", npi,
		    is_org ? "organization" : "provider");
		if (is_org) {
			buf_append_str(&out, "\"name\":");
			directory_report_json_str(&out, o.name);
			buf_append_str(&out, ",\"parent_npi\":");
			directory_report_json_str(&out, o.parent_npi);
			buf_printf(&out, ",\"active\":%s", o.active ?
			    "true" : "false");
		} else {
			buf_append_str(&out, "\"last_name\":");
			directory_report_json_str(&out, p.last_name);
			buf_append_str(&out, ",\"first_name\":");
			directory_report_json_str(&out, p.first_name);
			buf_append_str(&out, ",\"middle_name\":");
			directory_report_json_str(&out, p.middle_name);
			buf_append_str(&out, ",\"suffix\":");
			directory_report_json_str(&out, p.suffix);
			buf_append_str(&out, ",\"taxonomy\":");
			directory_report_json_str(&out, p.taxonomy);
			buf_printf(&out, ",\"active\":%s", p.active ?
			    "true" : "false");
		}
		buf_append_str(&out, ",\"memberships\":[");
		for (size_t i = 0; i < nms; i++) {
			buf_printf(&out, "%s{\"provider_npi\":\"%s\","
			    "\"organization_npi\":\"%s\",\"role\":",
			    i ? "," : "", ms[i].provider_npi, ms[i].org_npi);
			directory_report_json_str(&out, ms[i].role);
			buf_printf(&out, ",\"active\":%s}", ms[i].active ?
			    "true" : "false");
		}
		buf_append_str(&out, "],\"endpoints\":[");
		for (size_t i = 0; i < neps; i++) {
			buf_printf(&out, "%s{\"id\":%lld,\"kind\":\"%s\","
			    "\"address\":", i ? "," : "",
			    (long long)eps[i].id,
			    directory_kind_name(eps[i].kind));
			directory_report_json_str(&out, eps[i].address);
			buf_printf(&out, ",\"rank\":%d,\"active\":%s,"
			    "\"payload_types\":", eps[i].rank,
			    eps[i].active ? "true" : "false");
			directory_report_json_str(&out,
			    eps[i].payload_types);
			buf_putc(&out, '}');
		}
		buf_append_str(&out, "],\"preferences\":[");
		for (size_t i = 0; i < nprefs; i++) {
			directory_timing_format(&prefs[i], tbuf,
			    sizeof(tbuf));
			buf_printf(&out, "%s{\"events\":\"%s\",\"classes\":"
			    "\"%s\",\"format\":\"%s\",\"timing\":\"%s\"}",
			    i ? "," : "", prefs[i].events, prefs[i].classes,
			    directory_format_name(prefs[i].format), tbuf);
		}
		buf_append_str(&out, "],\"routes\":[");
	} else {
		if (is_org)
			buf_printf(&out, "organization %s: %s%s%s (%s)\n",
			    npi, o.name, o.parent_npi[0] ? ", part of " : "",
			    o.parent_npi, o.active ? "active" : "inactive");
		else
			buf_printf(&out, "provider %s: %s, %s%s%s%s%s%s%s "
			    "(%s)\n", npi, p.last_name, p.first_name,
			    p.middle_name[0] ? " " : "", p.middle_name,
			    p.suffix[0] ? " " : "", p.suffix,
			    p.taxonomy[0] ? ", taxonomy " : "", p.taxonomy,
			    p.active ? "active" : "inactive");
		for (size_t i = 0; i < nms; i++)
			buf_printf(&out, "  %s %s%s%s (%s)\n", is_org ?
			    "member" : "member of", is_org ?
			    ms[i].provider_npi : ms[i].org_npi,
			    ms[i].role[0] ? " role " : "", ms[i].role,
			    ms[i].active ? "active" : "inactive");
		if (neps == 0)
			buf_append_str(&out, "  no endpoint of its own\n");
		for (size_t i = 0; i < neps; i++)
			buf_printf(&out, "  endpoint %s %s rank %d %s%s%s\n",
			    directory_kind_name(eps[i].kind),
			    eps[i].address, eps[i].rank, eps[i].active ?
			    "active" : "inactive",
			    eps[i].payload_types[0] ? " payload " : "",
			    eps[i].payload_types);
		if (nprefs == 0)
			buf_append_str(&out, "  preferences: none (every "
			    "event, every class, realtime)\n");
		for (size_t i = 0; i < nprefs; i++) {
			directory_timing_format(&prefs[i], tbuf,
			    sizeof(tbuf));
			buf_printf(&out, "  preference events %s classes %s "
			    "format %s timing %s\n", prefs[i].events,
			    prefs[i].classes,
			    directory_format_name(prefs[i].format), tbuf);
		}
	}
	for (int i = 0, n = 0; dir_show_events[i] != NULL; i++) {
		for (int k = 0; dir_show_classes[k] != '\0'; k++) {
			struct directory_route r;

			if (directory_route(s, npi, dir_show_events[i],
			    dir_show_classes[k], &r, &e) != 0) {
				rc = cmd_fail("show: %s", e.msg);
				goto out;
			}
			if (json) {
				if (n++ > 0)
					buf_putc(&out, ',');
				dir_route_json(&out, dir_show_events[i],
				    dir_show_classes[k], &r);
			} else {
				buf_printf(&out, "  route %s %c: ",
				    dir_show_events[i], dir_show_classes[k]);
				dir_route_text(&out, &r);
				buf_putc(&out, '\n');
			}
		}
	}
	if (json)
		buf_append_str(&out, "]}\n");
	dir_put(&out);
	rc = 0;
out:
	free(ms);
	free(eps);
	free(prefs);
	buf_release(&out);
	instance_free(&in);
	return rc;
}

/* Writes path atomically (temp file, fsync, rename). */
static int
dir_write_file(const char *path, const struct buf *b, struct err *e)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "wb");

	if (f == NULL) {
		err_set(e, ERR_PERM, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if (fwrite(b->data, 1, b->len, f) != b->len || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		err_set(e, ERR_PERM, "%s: %s", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	fclose(f);
	if (rename(tmp, path) != 0) {
		err_set(e, ERR_PERM, "%s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

static int
dir_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir(), *outdir;
	struct instance *in = NULL;
	struct store *s;
	struct buf out;
	struct err e;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			printf("usage: directgate directory export OUTDIR "
			    "[--dir DIR]\n\n"
			    "Writes the Health Directory as CSV files in "
			    "OUTDIR (created if needed):\norganizations.csv, "
			    "providers.csv, memberships.csv, endpoints.csv,\n"
			    "preferences.csv. `directory import OUTDIR/*.csv` "
			    "loads them back.\n");
			return 0;
		default:
			return cmd_usage_error("directory export",
			    "bad option");
		}
	}
	if (optind + 1 != argc)
		return cmd_usage_error("directory export",
		    "give one output directory");
	outdir = argv[optind];
	if (mkdir(outdir, 0755) != 0 && errno != EEXIST)
		return cmd_fail("%s: %s", outdir, strerror(errno));
	if (dir_open(dir, &in, &s) != 0)
		return 1;
	buf_init(&out, BUF_UNLIMITED);
	for (int t = 0; t < DIRECTORY_TABLE_COUNT; t++) {
		char *path = xasprintf("%s/%s.csv", outdir,
		    directory_table_name(t));

		buf_reset(&out);
		if (directory_export_csv(s, t, &out, &e) != 0 ||
		    dir_write_file(path, &out, &e) != 0) {
			free(path);
			rc = cmd_fail("export: %s", e.msg);
			goto out;
		}
		free(path);
	}
	printf("exported the directory to %s\n", outdir);
	rc = 0;
out:
	buf_release(&out);
	instance_free(&in);
	return rc;
}

int
cmd_directory(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		printf("usage: directgate directory COMMAND ...\n\n"
		    "The Health Directory: providers, organizations, "
		    "memberships, endpoints\nand notification preferences.\n\n"
		    "  import FILE... [--format csv|fhir] [--table T] "
		    "[--strict] [--json]\n"
		    "  show NPI|ADDRESS [--json]\n"
		    "  export OUTDIR\n"
		    "  route NPI --event A01 [--class I] [--json]\n\n"
		    "Each answers --help.\n");
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "import") == 0)
		return dir_import(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return dir_show(argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return dir_export(argc - 1, argv + 1);
	if (strcmp(argv[1], "route") == 0)
		return dir_route_cmd(argc - 1, argv + 1);
	return cmd_usage_error("directory", "unknown command '%s'", argv[1]);
}
