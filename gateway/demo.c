#include "gateway/demo.h"

#include "adt/notify_demo.h"
#include "certs/demo_ca.h"
#include "hisp/address.h"

/* The demo: two local domains on loopback ports, a hospital's intake
 * address at a.example, and a practice's mailbox at b.example. */
const char *
demo_config_text(void)
{
	return "[core]\n"
	    "log_level = info\n"
	    "\n"
	    "[smtp]\n"
	    "listen = 127.0.0.1:2525\n"
	    "submission_listen = 127.0.0.1:2587\n"
	    "\n"
	    "[mllp]\n"
	    "listen = 127.0.0.1:2575\n";
}

static const char *const demo_domains[] = {"a.example", "b.example"};

static const struct {
	const char *address;
	enum address_kind kind;
	const char *password;
} demo_addresses[] = {
	{"adt@a.example", ADDRESS_INTAKE, NULL},
	{"notify@a.example", ADDRESS_NOTIFY, NULL},
	{"hospital@a.example", ADDRESS_MAILBOX, "demo"},
	{"dr.smith@b.example", ADDRESS_MAILBOX, "demo"},
};

int
demo_populate(struct instance *in, struct err *e)
{
	struct store *s = instance_store(in, e);

	if (s == NULL)
		return -1;
	if (demo_ca_setup(s, config_path(in->cfg, "core", "keys"),
	    demo_domains, 2, e) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(demo_addresses) /
	    sizeof(demo_addresses[0]); i++)
		if (address_add(s, demo_addresses[i].address,
		    demo_addresses[i].kind, demo_addresses[i].password, e) != 0)
			return -1;
	/* ACRS and directory data whose Direct endpoints are b.example
	 * mailboxes (adt/notify_demo.h). */
	if (notify_demo_populate(s, in->dir, "b.example", e) != 0)
		return -1;
	return address_write_passwd_file(s, config_path(in->cfg, "mailbox",
	    "dovecot_passwd"), e);
}
