-- 006: the switch (issue 11, `moatctl switch`).
--   * switch_counters: the last value `moatctl switch collect` read of each
--     named nftables counter (bytes, packets), so the next collect adds only
--     the delta to usage.  A counter that reads lower than its row was reset
--     (the table was reloaded): its whole value is the delta.
--   * usage.net_bytes: network bytes the switch counted for the subscriber's
--     networks that day, in the row's direction ('in' = to the subscriber's
--     networks, 'out' = from them).  A column rather than rows of their own:
--     usage's key (day, subscriber, direction) already says whose and which
--     way, and mail and network traffic of one day stay one row to bill.
CREATE TABLE switch_counters (
  name    TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 128),
  packets INTEGER NOT NULL DEFAULT 0 CHECK (packets >= 0),
  bytes   INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  updated INTEGER NOT NULL
);
ALTER TABLE usage ADD COLUMN net_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE meta SET value = '6' WHERE key = 'schema_version';
