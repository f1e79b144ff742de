/* `directgate serve`: the daemon, in the foreground. */
#include "gateway/cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adt/mllp_server.h"
#include "adt/notify.h"
#include "certs/bundle_sched.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/xmalloc.h"
#include "gateway/serve.h"

/* One daemon per instance: a lock on DIR/directgate.pid held for the
 * daemon's life (released by the kernel however it ends). */
static int
serve_lock(const char *dir, struct err *e)
{
	char *path = xasprintf("%s/directgate.pid", dir);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	char pid[32];
	int fd, n;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_set(e, ERR_CONFIG, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (fcntl(fd, F_SETLK, &fl) != 0) {
		err_set(e, ERR_CONFIG, "another directgate serves %s", dir);
		close(fd);
		free(path);
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || write(fd, pid, (size_t)n) != n)
		log_warn(NULL, "event=pidfile_write_failed");
	free(path);
	return fd;
}

static int
serve_logging(const struct config *cfg, struct err *e)
{
	enum log_level level;
	const char *file = config_path(cfg, "core", "log_file");

	if (log_level_parse(config_str(cfg, "core", "log_level"), &level) != 0)
		return err_set(e, ERR_CONFIG,
		    "[core] log_level: '%s' is not debug, info, warn or error",
		    config_str(cfg, "core", "log_level"));
	log_set_level(level);
	if (config_bool(cfg, "core", "syslog"))
		log_use_syslog(true);
	else if (file[0] != '\0' && log_open_file(file) != 0)
		return err_set(e, ERR_CONFIG, "[core] log_file: cannot open %s",
		    file);
	return 0;
}

/* The MLLP intake stored ADTs: an idle notification runner looks now
 * (none yet while the modules start: notify_kick accepts NULL). */
static void
serve_adt_stored(void *arg)
{
	notify_kick(*(struct notify **)arg);
}

/* Starts every module that listens or runs background work. */
static int
serve_start_modules(struct serve_ctx *ctx, struct err *e)
{
	const struct config *cfg = ctx->in->cfg;
	struct hisp_params hp = {0};
	struct intake_opts io = {0};

	/* The Direct intake: ADTs that arrive by Direct. */
	io.writer = ctx->writer;
	(void)ack_mode_parse(config_str(cfg, "mllp", "ack_mode"), &io.ack_mode);
	io.ack_app = config_str(cfg, "adt", "ack_application");
	io.ack_facility = config_str(cfg, "adt", "ack_facility");
	ctx->direct.intake = intake_new(&io);
	ctx->direct.send_ack = config_bool(cfg, "intake", "direct_ack");
	hp.loop = ctx->loop;
	hp.writer = ctx->writer;
	hp.cfg = cfg;
	hp.intake = direct_intake_hook;
	hp.intake_arg = &ctx->direct;
	if (hisp_start(&hp, &ctx->hisp, e) != 0)
		return err_prefix(e, "hisp");
	ctx->direct.hisp = ctx->hisp;
	/* HL7 over MLLP. */
	if (mllp_server_start(ctx->loop, ctx->writer, cfg, serve_adt_stored,
	    &ctx->notify, e) != 0)
		return err_prefix(e, "mllp");
	/* The notification agent: stored ADTs to the care team. */
	{
		struct notify_params np = {
			.loop = ctx->loop,
			.writer = ctx->writer,
			.hisp = ctx->hisp,
			.cfg = cfg,
			.store_path = config_path(cfg, "core", "store"),
		};

		if (notify_start(&np, &ctx->notify, e) != 0)
			return err_prefix(e, "notify");
	}
	/* Trust bundles refreshed on their schedule. */
	if (bundle_sched_start(ctx->loop, config_path(ctx->in->cfg, "core",
	    "store"), ctx->in->cfg, 0, 0, e) != 0)
		return err_prefix(e, "bundles");
	return 0;
}

static int
serve_run(struct instance *in)
{
	struct store_writer_opts wo = {0};
	struct serve_ctx ctx = {.in = in};
	struct err e;
	int lockfd, rc = 1;

	if (serve_logging(in->cfg, &e) != 0)
		return cmd_fail("%s", e.msg);
	if ((lockfd = serve_lock(in->dir, &e)) < 0)
		return cmd_fail("%s", e.msg);
	if (instance_store(in, &e) == NULL) {
		cmd_fail("store: %s", e.msg);
		goto out;
	}
	loop_set_workers((unsigned)config_int(in->cfg, "core", "workers"));
	if (loop_new(&ctx.loop, &e) != 0) {
		cmd_fail("%s", e.msg);
		goto out;
	}
	loop_set_grace_ms(ctx.loop,
	    (uint64_t)config_int(in->cfg, "core", "shutdown_grace"));
	wo.loop = ctx.loop;
	wo.batch_max = (unsigned)config_int(in->cfg, "store", "batch_max");
	wo.commit_delay_us = (unsigned)config_int(in->cfg, "store",
	    "commit_delay") * 1000;
	if (store_writer_new(config_path(in->cfg, "core", "store"), &wo,
	    &ctx.writer, &e) != 0) {
		cmd_fail("store: %s", e.msg);
		goto out;
	}
	if (serve_start_modules(&ctx, &e) != 0) {
		cmd_fail("%s", e.msg);
		log_error(NULL, "event=start_failed reason=\"%s\"", e.msg);
		goto out;
	}
	log_info(NULL, "event=ready version=%s pid=%ld", DG_VERSION,
	    (long)getpid());
	rc = loop_run(ctx.loop);
	log_info(NULL, "event=stopped%s", rc != 0 ? " forced=yes" : "");
	rc = 0;
out:
	hisp_close(ctx.hisp);
	/* The writer commits what is queued; its answers run in loop_free. */
	store_writer_free(&ctx.writer);
	loop_free(&ctx.loop);
	notify_free(&ctx.notify);
	hisp_free(&ctx.hisp);
	intake_free(&ctx.direct.intake);
	close(lockfd);
	return rc;
}

int
cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir();
	struct instance *in;
	struct err e;
	int c, rc;

	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			printf("usage: directgate serve [--dir DIR]\n\n"
			    "Runs the daemon in the foreground; logs "
			    "'event=ready' once listening.\n"
			    "SIGTERM or SIGINT: graceful stop; SIGHUP: "
			    "reopen the log file.\n");
			return 0;
		default:
			return cmd_usage_error("serve", "bad option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("serve", "unexpected argument '%s'",
		    argv[optind]);
	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	rc = serve_run(in);
	instance_free(&in);
	return rc;
}
