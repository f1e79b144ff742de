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
	    "CREATE TABLE domain (name TEXT PRIMARY KEY COLLATE NOCASE,"
	    " created INTEGER NOT NULL DEFAULT (strftime('%s','now')));"},
	/* 3: adt intake (stored ADTs). */
	{3, "adt: intake",
	    "CREATE TABLE adt_event (id INTEGER PRIMARY KEY);"},
	{0, NULL, NULL},
};
