-- Alert incidents: one per time a rule's condition started to hold. The open incident of a rule
-- (state 'firing') is what keeps a second alert from being sent while the condition lasts, after a
-- restart too; its recovery writes the same incident again with state 'resolved' and a higher
-- version, which FINAL reads in place of the first row.
CREATE TABLE IF NOT EXISTS alert_incidents
(
    incident_id String,
    rule_id     String,
    rule_name   String,
    condition   LowCardinality(String),
    scope       String,
    state       LowCardinality(String),
    -- the figure that tripped the rule (sales, clicks, revenue or refused share) and its text
    value       Float64,
    figure      String,
    started_at  DateTime64(3, 'UTC'),
    resolved_at Nullable(DateTime64(3, 'UTC')),
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (rule_id, incident_id);

-- What each channel answered for an incident's alert and its recovery, after its retries.
CREATE TABLE IF NOT EXISTS alert_deliveries
(
    incident_id  String,
    event        LowCardinality(String),
    channel_id   String,
    channel_type LowCardinality(String),
    ok           UInt8,
    attempts     UInt8,
    detail       String,
    sent_at      DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (incident_id, sent_at);
