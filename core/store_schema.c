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
	    /* One row per accepted ADT. raw: the message as normalized on
	     * intake (CR-separated; BOM and LF/CRLF removed), never decoded.
	     * channel 'mllp' or 'direct'; sender the peer address
	     * (ip:port) or the Direct sender; received in ms since the
	     * epoch. facility + control_id (MSH-4, MSH-10, raw) is the
	     * duplicate key. state: 'received' (for the notification
	     * agent), later 'processing', 'done', 'failed'. */
	    "CREATE TABLE adt_event (id INTEGER PRIMARY KEY,"
	    " received INTEGER NOT NULL,"
	    " channel TEXT NOT NULL CHECK (channel IN ('mllp','direct','cli')),"
	    " sender TEXT NOT NULL,"
	    " facility TEXT NOT NULL,"
	    " control_id TEXT NOT NULL,"
	    " msg_type TEXT NOT NULL,"
	    " event TEXT NOT NULL,"
	    " structure TEXT NOT NULL DEFAULT '',"
	    " version TEXT NOT NULL DEFAULT '',"
	    " processing_id TEXT NOT NULL DEFAULT 'P',"
	    " size INTEGER NOT NULL,"
	    " raw BLOB NOT NULL,"
	    " state TEXT NOT NULL DEFAULT 'received',"
	    " state_changed INTEGER NOT NULL,"
	    " attempts INTEGER NOT NULL DEFAULT 0,"
	    " UNIQUE (facility, control_id));"
	    "CREATE INDEX adt_event_state ON adt_event (state, id);"},
	/* 4: adt ACRS (relationships, patients, match decisions). */
	{4, "adt: acrs",
	    /* Organizations that submit ACRS files: the last import and
	     * its counts. */
	    "CREATE TABLE acrs_submitter (id INTEGER PRIMARY KEY,"
	    " name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	    " imported INTEGER, mode TEXT,"
	    " patients INTEGER NOT NULL DEFAULT 0,"
	    " relationships INTEGER NOT NULL DEFAULT 0,"
	    " bad_rows INTEGER NOT NULL DEFAULT 0);"
	    /* A submitter's patient, normalized (adt/acrs_norm.h): dates
	     * YYYYMMDD, the key (patient_id, submitter) also serves
	     * identifier lookups, blocking keys k_name (ZIP5 + 4 letters of last and
	     * first name + sex, hashed) and k_phone (last 4 digits, DOB:
	     * found through the DOB index, which also covers the names).
	     * adt/acrs_store.c drops and recreates these indexes around a
	     * bulk replace: keep its copy of the index SQL in step. */
	    "CREATE TABLE acrs_patient (id INTEGER PRIMARY KEY,"
	    " submitter INTEGER NOT NULL, patient_id TEXT NOT NULL,"
	    " id_type TEXT NOT NULL, authority TEXT NOT NULL DEFAULT '',"
	    " last TEXT NOT NULL, first TEXT NOT NULL, middle TEXT,"
	    " suffix TEXT, dob INTEGER NOT NULL, sex TEXT NOT NULL,"
	    " street TEXT, city TEXT, state TEXT, zip5 TEXT, phone TEXT,"
	    " ssn4 TEXT, k_name INTEGER, k_phone INTEGER);"
	    "CREATE UNIQUE INDEX acrs_patient_key ON acrs_patient"
	    " (patient_id, submitter);"
	    "CREATE INDEX acrs_patient_sub ON acrs_patient (submitter);"
	    "CREATE INDEX acrs_patient_dob ON acrs_patient"
	    " (dob, k_phone, last, first);"
	    "CREATE INDEX acrs_patient_name ON acrs_patient (k_name)"
	    " WHERE k_name IS NOT NULL;"
	    /* One relationship: patient to provider (NPI) with a role. */
	    "CREATE TABLE acrs_rel (patient INTEGER NOT NULL,"
	    " npi TEXT NOT NULL, relationship TEXT NOT NULL,"
	    " provider_name TEXT, organization TEXT,"
	    " last_seen INTEGER, start_date INTEGER, end_date INTEGER,"
	    " restricted INTEGER NOT NULL DEFAULT 0,"
	    " PRIMARY KEY (patient, npi, relationship)) WITHOUT ROWID;"
	    /* Identities confirmed by review: an ADT identifier (authority,
	     * ident) is this submitter's patient. */
	    "CREATE TABLE acrs_link (authority TEXT NOT NULL,"
	    " ident TEXT NOT NULL, submitter TEXT NOT NULL COLLATE NOCASE,"
	    " patient_id TEXT NOT NULL,"
	    " created INTEGER NOT NULL DEFAULT (strftime('%s','now')),"
	    " PRIMARY KEY (authority, ident, submitter, patient_id));"
	    /* Possible matches held for review (never sent). */
	    "CREATE TABLE acrs_review (id INTEGER PRIMARY KEY,"
	    " created INTEGER NOT NULL DEFAULT (strftime('%s','now')),"
	    " event_ref TEXT, authority TEXT, ident TEXT,"
	    " submitter TEXT NOT NULL, patient_id TEXT NOT NULL,"
	    " score REAL NOT NULL,"
	    " state TEXT NOT NULL DEFAULT 'pending'"
	    " CHECK (state IN ('pending','accepted','rejected')),"
	    " decided INTEGER);"
	    "CREATE INDEX acrs_review_state ON acrs_review (state);"},
	/* 5: adt Health Directory (providers, organizations, endpoints). */
	{5, "adt: directory",
	    /* NPIs are 10 digits (Luhn-checked on import); an owner is a
	     * provider or an organization NPI; active is 0 or 1. */
	    "CREATE TABLE dir_organization (npi TEXT PRIMARY KEY,"
	    " name TEXT NOT NULL, parent_npi TEXT,"
	    " active INTEGER NOT NULL DEFAULT 1,"
	    " updated INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
	    "CREATE TABLE dir_provider (npi TEXT PRIMARY KEY,"
	    " last_name TEXT NOT NULL, first_name TEXT NOT NULL DEFAULT '',"
	    " middle_name TEXT NOT NULL DEFAULT '',"
	    " suffix TEXT NOT NULL DEFAULT '',"
	    " taxonomy TEXT NOT NULL DEFAULT '',"
	    " active INTEGER NOT NULL DEFAULT 1,"
	    " updated INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
	    "CREATE TABLE dir_membership (provider_npi TEXT NOT NULL,"
	    " org_npi TEXT NOT NULL, role TEXT NOT NULL DEFAULT '',"
	    " active INTEGER NOT NULL DEFAULT 1,"
	    " PRIMARY KEY (provider_npi, org_npi, role));"
	    "CREATE INDEX dir_membership_org ON dir_membership (org_npi);"
	    /* kind 'direct' (address local@domain) or 'mllp' (host:port);
	     * rank: lower is preferred. */
	    "CREATE TABLE dir_endpoint (id INTEGER PRIMARY KEY,"
	    " owner_npi TEXT NOT NULL,"
	    " kind TEXT NOT NULL CHECK (kind IN ('direct','mllp')),"
	    " address TEXT NOT NULL,"
	    " rank INTEGER NOT NULL CHECK (rank >= 1),"
	    " active INTEGER NOT NULL DEFAULT 1,"
	    " payload_types TEXT NOT NULL DEFAULT '',"
	    " UNIQUE (owner_npi, kind, address));"
	    "CREATE INDEX dir_endpoint_address ON dir_endpoint (address);"
	    /* events "A01,A03" or "*"; classes "EI" or "*"; timing
	     * 'realtime' or a daily digest time 'HH:MM'. */
	    "CREATE TABLE dir_preference (id INTEGER PRIMARY KEY,"
	    " owner_npi TEXT NOT NULL,"
	    " events TEXT NOT NULL DEFAULT '*',"
	    " classes TEXT NOT NULL DEFAULT '*',"
	    " format TEXT NOT NULL CHECK (format IN ('hl7+text','hl7')),"
	    " timing TEXT NOT NULL DEFAULT 'realtime');"
	    "CREATE INDEX dir_preference_owner ON dir_preference (owner_npi);"},
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
	/* 7: a counter bumped by every change to policy data, whoever makes
	 * it (a command while the daemon runs): the daemon polls it and
	 * reloads keys, certificates and anchors when it moves. */
	{7, "core: policy generation",
	    "INSERT INTO meta (key, value) VALUES ('policy_gen', 0);"
	    "CREATE TRIGGER policy_domain_insert AFTER INSERT ON domain"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_domain_update AFTER UPDATE ON domain"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_domain_delete AFTER DELETE ON domain"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_cert_key_insert AFTER INSERT ON cert_key"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_cert_key_update AFTER UPDATE ON cert_key"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_cert_key_delete AFTER DELETE ON cert_key"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_intermediate_insert AFTER INSERT ON intermediate"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_intermediate_update AFTER UPDATE ON intermediate"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_intermediate_delete AFTER DELETE ON intermediate"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_anchor_insert AFTER INSERT ON anchor"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_anchor_update AFTER UPDATE ON anchor"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_anchor_delete AFTER DELETE ON anchor"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_bundle_insert AFTER INSERT ON bundle"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_bundle_update AFTER UPDATE ON bundle"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_bundle_delete AFTER DELETE ON bundle"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_bundle_anchor_insert AFTER INSERT ON bundle_anchor"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_bundle_anchor_update AFTER UPDATE ON bundle_anchor"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_bundle_anchor_delete AFTER DELETE ON bundle_anchor"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_bundle_domain_insert AFTER INSERT ON bundle_domain"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_bundle_domain_update AFTER UPDATE ON bundle_domain"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_bundle_domain_delete AFTER DELETE ON bundle_domain"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_address_insert AFTER INSERT ON address"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_address_update AFTER UPDATE ON address"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"
	    "CREATE TRIGGER policy_address_delete AFTER DELETE ON address"
	    " BEGIN UPDATE meta SET value = value + 1"
	    " WHERE key = 'policy_gen'; END;"},
	/* 8: delivery tracking: every (message, recipient) sent to another
	 * HISP, until its MDNs (or a DSN, or the timeout) decide. */
	{8, "hisp: tracking",
	    "CREATE TABLE track (message_id TEXT NOT NULL,"
	    " rcpt TEXT NOT NULL COLLATE NOCASE,"
	    " sender TEXT NOT NULL,"
	    " queue_id TEXT,"
	    " state TEXT NOT NULL,"
	    " final_requested INTEGER NOT NULL,"
	    " sent INTEGER NOT NULL,"
	    " deadline INTEGER NOT NULL,"
	    " processed_at INTEGER, dispatched_at INTEGER, failed_at INTEGER,"
	    " reason TEXT,"
	    " PRIMARY KEY (message_id, rcpt));"
	    "CREATE INDEX track_due ON track (state, deadline);"
	    "CREATE INDEX track_sent ON track (sent);"
	    "CREATE TABLE track_event (id INTEGER PRIMARY KEY,"
	    " message_id TEXT NOT NULL, rcpt TEXT NOT NULL COLLATE NOCASE,"
	    " kind TEXT NOT NULL, at INTEGER NOT NULL, queue_id TEXT,"
	    " forwarded INTEGER NOT NULL DEFAULT 0, note TEXT);"
	    "CREATE INDEX track_event_msg ON track_event (message_id, rcpt);"},
	/* 9: the notification agent: one row per (visit, event, recipient)
	 * (the unique key that keeps a re-sent ADT or a retry from notifying
	 * anyone twice), which is also the MLLP and digest queue, and the
	 * audit trail of every decision (no PHI: codes, NPIs, scores). */
	{9, "adt: notify",
	    "CREATE TABLE notify_sent (id INTEGER PRIMARY KEY,"
	    " adt INTEGER NOT NULL,"
	    " visit TEXT NOT NULL, event TEXT NOT NULL,"
	    " recipient TEXT NOT NULL,"
	    " kind TEXT NOT NULL CHECK (kind IN ('direct','mllp','digest')),"
	    " npis TEXT NOT NULL DEFAULT '',"
	    " patient_ids TEXT NOT NULL DEFAULT '',"
	    " message_id TEXT, queue_id TEXT,"
	    " state TEXT NOT NULL,"
	    " retracts INTEGER,"
	    " created INTEGER NOT NULL, updated INTEGER NOT NULL,"
	    " attempts INTEGER NOT NULL DEFAULT 0,"
	    " next_try INTEGER NOT NULL DEFAULT 0,"
	    " payload BLOB, reason TEXT,"
	    " UNIQUE (visit, event, recipient));"
	    "CREATE INDEX notify_sent_adt ON notify_sent (adt);"
	    "CREATE INDEX notify_sent_due ON notify_sent (kind, state, next_try);"
	    "CREATE TABLE notify_audit (id INTEGER PRIMARY KEY,"
	    " adt INTEGER NOT NULL, at INTEGER NOT NULL,"
	    " step TEXT NOT NULL, npi TEXT, recipient TEXT, detail TEXT);"
	    "CREATE INDEX notify_audit_adt ON notify_audit (adt, id);"},
	/* 10: what was delivered from other HISPs, by Message-ID, recipient
	 * and envelope sender, so that a message sent again (its sender
	 * crashed after our 250) is not delivered twice, while another
	 * sender reusing an id is not mistaken for it. */
	{10, "hisp: received",
	    "CREATE TABLE received (message_id TEXT NOT NULL,"
	    " rcpt TEXT NOT NULL COLLATE NOCASE,"
	    " sender TEXT NOT NULL COLLATE NOCASE,"
	    " at INTEGER NOT NULL,"
	    " queue_id TEXT,"
	    " PRIMARY KEY (message_id, rcpt, sender));"
	    "CREATE INDEX received_at ON received (at);"},
	/* 11: fallback to a care-team member's next-ranked endpoint when
	 * delivery of a notification fails (adt/notify_fallback.h). A failed
	 * notification gets fallback 'due' in the very transaction that
	 * records the failure (the MLLP client sets it itself; for Direct
	 * notifications the two triggers below watch the queue's permanent
	 * failures and the tracking's failed MDN or timeout), and 'done' or
	 * 'exhausted' in the transaction that queues its fallback, which
	 * points back to it with fallback_of. So a crash at any moment
	 * neither loses a fallback nor sends one twice. */
	{11, "adt: notify fallback",
	    "ALTER TABLE notify_sent ADD COLUMN fallback TEXT;"
	    "ALTER TABLE notify_sent ADD COLUMN fallback_of INTEGER;"
	    "CREATE INDEX notify_sent_fallback ON notify_sent (fallback)"
	    " WHERE fallback = 'due';"
	    "CREATE INDEX notify_sent_queue ON notify_sent (queue_id)"
	    " WHERE queue_id IS NOT NULL;"
	    "CREATE INDEX notify_sent_message ON notify_sent (message_id)"
	    " WHERE message_id IS NOT NULL;"
	    "CREATE TRIGGER notify_fallback_queue AFTER UPDATE OF state ON"
	    " queue_rcpt WHEN NEW.state = 'failed' AND OLD.state <> 'failed'"
	    " BEGIN UPDATE notify_sent SET state = 'failed', fallback = 'due',"
	    " updated = CAST((julianday('now') - 2440587.5) * 86400000 AS"
	    " INTEGER), reason = 'queue_failed status=' ||"
	    " coalesce(NEW.status, '-')"
	    " WHERE queue_id = NEW.msg AND recipient = NEW.rcpt COLLATE NOCASE"
	    " AND kind = 'direct' AND state = 'queued'; END;"
	    "CREATE TRIGGER notify_fallback_track AFTER UPDATE OF state ON"
	    " track WHEN NEW.state IN ('failed', 'timed_out')"
	    " AND OLD.state NOT IN ('failed', 'timed_out')"
	    " BEGIN UPDATE notify_sent SET state = 'failed', fallback = 'due',"
	    " updated = CAST((julianday('now') - 2440587.5) * 86400000 AS"
	    " INTEGER), reason = CASE NEW.state WHEN 'failed' THEN"
	    " 'mdn_failed' ELSE 'mdn_timeout' END"
	    " WHERE message_id = NEW.message_id"
	    " AND recipient = NEW.rcpt COLLATE NOCASE"
	    " AND kind = 'direct' AND state = 'queued'; END;"},
	/* The work lists are read only for what is still to do: the ADTs
	 * still to plan, the recipients still to deliver, the MLLP and
	 * digest notifications still pending. Their indexes hold those
	 * alone, so they stay small, a row that is done leaves its index
	 * rather than moving within it, and a Direct notification (queued
	 * at once) never enters one. */
	{12, "adt, queue: work-list indexes hold only pending rows",
	    "DROP INDEX adt_event_state;"
	    "CREATE INDEX adt_event_received ON adt_event (id)"
	    " WHERE state = 'received';"
	    "DROP INDEX queue_rcpt_due;"
	    "CREATE INDEX queue_rcpt_pending ON queue_rcpt (next_try)"
	    " WHERE state = 'pending';"
	    "DROP INDEX notify_sent_due;"
	    "CREATE INDEX notify_sent_pending ON notify_sent (kind, next_try)"
	    " WHERE state = 'pending';"},
	/* A daily digest that fails for good (the queue gives up, a failed
	 * MDN, no MDN in time) fails each of its entries, which then fall
	 * back one by one as a Direct notification would: migration 11's
	 * triggers, for kind 'digest' too. */
	{13, "adt: digest entries fall back",
	    "DROP TRIGGER notify_fallback_queue;"
	    "DROP TRIGGER notify_fallback_track;"
	    "CREATE TRIGGER notify_fallback_queue AFTER UPDATE OF state ON"
	    " queue_rcpt WHEN NEW.state = 'failed' AND OLD.state <> 'failed'"
	    " BEGIN UPDATE notify_sent SET state = 'failed', fallback = 'due',"
	    " updated = CAST((julianday('now') - 2440587.5) * 86400000 AS"
	    " INTEGER), reason = 'queue_failed status=' ||"
	    " coalesce(NEW.status, '-')"
	    " WHERE queue_id = NEW.msg AND recipient = NEW.rcpt COLLATE NOCASE"
	    " AND kind IN ('direct', 'digest') AND state = 'queued'; END;"
	    "CREATE TRIGGER notify_fallback_track AFTER UPDATE OF state ON"
	    " track WHEN NEW.state IN ('failed', 'timed_out')"
	    " AND OLD.state NOT IN ('failed', 'timed_out')"
	    " BEGIN UPDATE notify_sent SET state = 'failed', fallback = 'due',"
	    " updated = CAST((julianday('now') - 2440587.5) * 86400000 AS"
	    " INTEGER), reason = CASE NEW.state WHEN 'failed' THEN"
	    " 'mdn_failed' ELSE 'mdn_timeout' END"
	    " WHERE message_id = NEW.message_id"
	    " AND recipient = NEW.rcpt COLLATE NOCASE"
	    " AND kind IN ('direct', 'digest') AND state = 'queued'; END;"},
	{0, NULL, NULL},
};
