/* The schema of every module, migrated forward by PRAGMA user_version.
 * A migration, once landed, is never edited: add a new one at the end.
 * Each runs in its own transaction. */
#include "core/store.h"

const struct store_migration store_migrations[] = {
	{1, "core: meta",
	    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	    "INSERT INTO meta (key, value) VALUES ('created', strftime('%s','now'));"},
	/* 2: certs (domains, keys, certificates, anchors, bundles). */
	{2, "certs: trust store",
	    /* Local domains (names stored lower-case). */
	    "CREATE TABLE domain (name TEXT PRIMARY KEY COLLATE NOCASE,"
	    " created INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
	    /* Our keys and certificates: kind 'address' or 'domain'; owner the
	     * address or domain; key_file relative to the key directory; der
	     * NULL while pending (key generated, certificate not imported);
	     * chain: concatenated DER of intermediates to send along. */
	    "CREATE TABLE cert_key (id INTEGER PRIMARY KEY,"
	    " kind TEXT NOT NULL CHECK (kind IN ('address','domain')),"
	    " owner TEXT NOT NULL COLLATE NOCASE,"
	    " domain TEXT NOT NULL COLLATE NOCASE,"
	    " key_file TEXT,"
	    " spki_fp TEXT NOT NULL UNIQUE,"
	    " fingerprint TEXT UNIQUE,"
	    " der BLOB, chain BLOB,"
	    " subject TEXT, issuer TEXT,"
	    " not_before INTEGER, not_after INTEGER,"
	    " created INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
	    "CREATE INDEX cert_key_owner ON cert_key (owner);"
	    "CREATE INDEX cert_key_domain ON cert_key (domain);"
	    /* Intermediates known to the store (imported by the admin). */
	    "CREATE TABLE intermediate (id INTEGER PRIMARY KEY,"
	    " fingerprint TEXT NOT NULL UNIQUE, der BLOB NOT NULL,"
	    " subject TEXT, issuer TEXT, not_after INTEGER,"
	    " created INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
	    /* Single anchors per domain; dir 1 in, 2 out, 3 both. */
	    "CREATE TABLE anchor (id INTEGER PRIMARY KEY,"
	    " domain TEXT NOT NULL COLLATE NOCASE,"
	    " dir INTEGER NOT NULL CHECK (dir BETWEEN 1 AND 3),"
	    " fingerprint TEXT NOT NULL, der BLOB NOT NULL,"
	    " subject TEXT, not_after INTEGER,"
	    " created INTEGER NOT NULL DEFAULT (strftime('%s','now')),"
	    " UNIQUE (domain, fingerprint));"
	    /* Trust bundles: source URL or path, refresh interval, last fetch. */
	    "CREATE TABLE bundle (id INTEGER PRIMARY KEY,"
	    " url TEXT NOT NULL UNIQUE, refresh_s INTEGER NOT NULL,"
	    " last_fetch INTEGER, last_ok INTEGER, last_error TEXT,"
	    " digest TEXT,"
	    " created INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
	    /* The anchors of a bundle's last good fetch. */
	    "CREATE TABLE bundle_anchor (bundle_id INTEGER NOT NULL,"
	    " fingerprint TEXT NOT NULL, der BLOB NOT NULL,"
	    " subject TEXT, not_after INTEGER,"
	    " PRIMARY KEY (bundle_id, fingerprint));"
	    /* Bundles attached to domains with a direction. */
	    "CREATE TABLE bundle_domain (bundle_id INTEGER NOT NULL,"
	    " domain TEXT NOT NULL COLLATE NOCASE,"
	    " dir INTEGER NOT NULL CHECK (dir BETWEEN 1 AND 3),"
	    " PRIMARY KEY (bundle_id, domain));"},
	/* 3: adt intake (stored ADTs). */
	{3, "adt: intake",
	    "CREATE TABLE adt_event (id INTEGER PRIMARY KEY);"},
	/* 4: adt ACRS (relationships, patients, match decisions). */
	{4, "adt: acrs",
	    "CREATE TABLE acrs_placeholder (id INTEGER PRIMARY KEY);"},
	/* 5: adt Health Directory (providers, organizations, endpoints). */
	{5, "adt: directory",
	    "CREATE TABLE directory_placeholder (id INTEGER PRIMARY KEY);"},
	/* 6: hisp (addresses, queue, delivery tracking). */
	{6, "hisp: addresses and queue",
	    /* Mailboxes and service addresses of the local domains. */
	    "CREATE TABLE address (address TEXT PRIMARY KEY COLLATE NOCASE,"
	    " domain TEXT NOT NULL COLLATE NOCASE,"
	    " kind TEXT NOT NULL DEFAULT 'mailbox',"
	    " password TEXT,"
	    " created INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
	    "CREATE INDEX address_domain ON address (domain);"
	    /* A message in the queue: the envelope and the bytes as
	     * received. The store is the spool: message and envelope
	     * commit in one transaction, many messages share one fsync. */
	    "CREATE TABLE queue_msg (id TEXT PRIMARY KEY,"
	    " direction TEXT NOT NULL CHECK (direction IN ('in','out','local')),"
	    " mail_from TEXT NOT NULL,"
	    " message_id TEXT,"
	    " size INTEGER NOT NULL,"
	    " body BLOB NOT NULL,"
	    " auth_user TEXT,"
	    " client TEXT,"
	    " flags INTEGER NOT NULL DEFAULT 0,"
	    " received INTEGER NOT NULL,"
	    " expires INTEGER NOT NULL);"
	    /* Per recipient: pending (due at next_try), sent, delivered,
	     * failed (a DSN went to the sender), deferred. */
	    "CREATE TABLE queue_rcpt (msg TEXT NOT NULL"
	    " REFERENCES queue_msg(id) ON DELETE CASCADE,"
	    " rcpt TEXT NOT NULL,"
	    " domain TEXT NOT NULL COLLATE NOCASE,"
	    " state TEXT NOT NULL DEFAULT 'pending',"
	    " attempts INTEGER NOT NULL DEFAULT 0,"
	    " next_try INTEGER NOT NULL,"
	    " updated INTEGER NOT NULL,"
	    " status TEXT,"
	    " reason TEXT,"
	    " PRIMARY KEY (msg, rcpt));"
	    "CREATE INDEX queue_rcpt_due ON queue_rcpt (state, next_try);"},
	{0, NULL, NULL},
};
