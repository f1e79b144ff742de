/* `directgate address`: mailboxes and service addresses. */
#include "gateway/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "hisp/address.h"
#include "gateway/instance.h"

static void
help(void)
{
	printf("usage: directgate address add ADDRESS [--kind mailbox|intake|"
	    "notify]\n"
	    "                                 [--password-stdin | --password P]\n"
	    "       directgate address passwd ADDRESS [--password-stdin | "
	    "--password P]\n"
	    "       directgate address remove ADDRESS\n"
	    "       directgate address list [--domain D] [--json]\n\n"
	    "Mailboxes of the local domains (read over IMAP, may submit over\n"
	    "SMTP AUTH) and service addresses (intake: HL7 ADT intake; notify:\n"
	    "the notification agent's sender). Passwords are stored as\n"
	    "yescrypt hashes; the Dovecot passwd-file ([mailbox] "
	    "dovecot_passwd)\n"
	    "is rewritten after every change.\n");
}

static int
read_password(char *dst, size_t size)
{
	size_t n;

	if (fgets(dst, (int)size, stdin) == NULL)
		return -1;
	n = strlen(dst);
	while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == '\r'))
		dst[--n] = '\0';
	return n > 0 ? 0 : -1;
}

static int
list(struct store *s, const char *domain, bool json)
{
	struct address_info *v;
	size_t n;
	struct err e;

	if (address_list(s, domain, &v, &n, &e) != 0)
		return cmd_fail("%s", e.msg);
	if (json)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		if (json) {
			printf("%s{\"address\":", i ? "," : "");
			cmd_json_str(stdout, v[i].address);
			printf(",\"kind\":\"%s\",\"password\":%s}",
			    address_kind_name(v[i].kind),
			    v[i].has_password ? "true" : "false");
		} else {
			printf("%-40s %-8s %s\n", v[i].address,
			    address_kind_name(v[i].kind),
			    v[i].has_password ? "password" : "-");
		}
	}
	if (json)
		printf("]\n");
	address_info_free(&v, n);
	return 0;
}

int
cmd_address(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"kind", required_argument, NULL, 'k'},
		{"password", required_argument, NULL, 'p'},
		{"password-stdin", no_argument, NULL, 'P'},
		{"domain", required_argument, NULL, 'D'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = cmd_global_dir(), *domain = NULL, *action;
	enum address_kind kind = ADDRESS_MAILBOX;
	char pw[1024] = "";
	bool have_pw = false, pw_stdin = false, json = false;
	struct instance *in = NULL;
	struct store *s;
	struct err e;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "d:k:p:PD:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'k':
			if (address_kind_parse(optarg, &kind) != 0)
				return cmd_usage_error("address",
				    "--kind is mailbox, intake or notify");
			break;
		case 'p':
			str_lcpy(pw, optarg, sizeof(pw));
			have_pw = true;
			break;
		case 'P':
			pw_stdin = true;
			break;
		case 'D':
			domain = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			help();
			return 0;
		default:
			return cmd_usage_error("address", "bad option");
		}
	}
	if (optind >= argc)
		return cmd_usage_error("address", "add, passwd, remove or list?");
	action = argv[optind++];
	if (strcmp(action, "list") != 0 && optind + 1 != argc)
		return cmd_usage_error("address", "%s takes one ADDRESS", action);
	if (pw_stdin) {
		if (read_password(pw, sizeof(pw)) != 0)
			return cmd_fail("no password on standard input");
		have_pw = true;
	}
	if (instance_open(dir, &in, &e) != 0)
		return cmd_fail("%s", e.msg);
	if ((s = instance_store(in, &e)) == NULL) {
		cmd_fail("%s", e.msg);
		goto out;
	}
	if (strcmp(action, "list") == 0) {
		rc = list(s, domain, json);
		goto out;
	} else if (strcmp(action, "add") == 0) {
		if (address_add(s, argv[optind], kind, have_pw ? pw : NULL,
		    &e) != 0) {
			cmd_fail("%s", e.msg);
			goto out;
		}
	} else if (strcmp(action, "passwd") == 0) {
		if (!have_pw) {
			cmd_usage_error("address",
			    "passwd needs --password-stdin or --password");
			rc = 2;
			goto out;
		}
		if (address_set_password(s, argv[optind], pw, &e) != 0) {
			cmd_fail("%s", e.msg);
			goto out;
		}
	} else if (strcmp(action, "remove") == 0) {
		if (address_remove(s, argv[optind], &e) != 0) {
			cmd_fail("%s", e.msg);
			goto out;
		}
	} else {
		rc = cmd_usage_error("address", "unknown action '%s'", action);
		goto out;
	}
	if (address_write_passwd_file(s, config_path(in->cfg, "mailbox",
	    "dovecot_passwd"), &e) != 0) {
		cmd_fail("passwd-file: %s", e.msg);
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(pw, sizeof(pw));
	instance_free(&in);
	return rc;
}
