-- One settings table for every kind of settings document (campaigns, networks, keys, ...), in
-- place of a table per kind (003, 004): a module adds a kind in code
-- (warehouse/settings-store.ts) without a migration. Rows are written and read as in 003: a
-- change writes a new version, a delete writes deleted = 1, reads use FINAL. Ordered by kind
-- first, so a store reads only its own kind's rows.
CREATE TABLE IF NOT EXISTS settings
(
    kind    LowCardinality(String),
    id      String,
    doc     String,
    version UInt64,
    deleted UInt8
)
ENGINE = ReplacingMergeTree(version, deleted)
ORDER BY (kind, id);

-- The rows of the old tables, copied with their table name as kind. Read through a Merge table
-- with its columns given, so that this file can run again after being cut short: the old tables
-- dropped by then are simply no longer read (a SELECT from a dropped table, or a merge() that
-- matches no table, would fail), and rows copied twice have the same kind, id and version, which
-- FINAL reads once. A keyrev process of an older version still writing to an old table while this
-- runs would lose that write: upgrade the processes sharing a server together.
CREATE TABLE IF NOT EXISTS legacy_settings
(
    id      String,
    doc     String,
    version UInt64,
    deleted UInt8
)
ENGINE = Merge(currentDatabase(), '^(campaigns|networks|postback_rules|alert_rules|api_keys|account_settings)$');

INSERT INTO settings (kind, id, doc, version, deleted)
SELECT _table, id, doc, version, deleted FROM legacy_settings;

DROP TABLE IF EXISTS campaigns;
DROP TABLE IF EXISTS networks;
DROP TABLE IF EXISTS postback_rules;
DROP TABLE IF EXISTS alert_rules;
DROP TABLE IF EXISTS api_keys;
DROP TABLE IF EXISTS account_settings;
DROP TABLE IF EXISTS legacy_settings;
