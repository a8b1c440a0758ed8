-- Settings live in ClickHouse too, so every keyrev process in server mode shares one store.
-- Each object is a JSON document; a change writes a new version, a delete writes deleted = 1,
-- and reads use FINAL. Processes cache them in memory and poll max(version) for changes.
CREATE TABLE IF NOT EXISTS campaigns
(
    id      String,
    doc     String,
    version UInt64,
    deleted UInt8
)
ENGINE = ReplacingMergeTree(version, deleted)
ORDER BY id;

CREATE TABLE IF NOT EXISTS networks
(
    id      String,
    doc     String,
    version UInt64,
    deleted UInt8
)
ENGINE = ReplacingMergeTree(version, deleted)
ORDER BY id;

CREATE TABLE IF NOT EXISTS postback_rules
(
    id      String,
    doc     String,
    version UInt64,
    deleted UInt8
)
ENGINE = ReplacingMergeTree(version, deleted)
ORDER BY id;

CREATE TABLE IF NOT EXISTS alert_rules
(
    id      String,
    doc     String,
    version UInt64,
    deleted UInt8
)
ENGINE = ReplacingMergeTree(version, deleted)
ORDER BY id;

-- Read-only report keys: only a SHA-256 of each key is stored.
CREATE TABLE IF NOT EXISTS api_keys
(
    id      String,
    doc     String,
    version UInt64,
    deleted UInt8
)
ENGINE = ReplacingMergeTree(version, deleted)
ORDER BY id;
