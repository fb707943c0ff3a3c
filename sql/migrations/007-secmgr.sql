-- 007: moat-secmgr (issue 12), the security manager.
--   * secmgr_state: its cursor, one row: the id of the last event whose
--     responses are committed.  Written in the same transaction as those
--     responses, so a restart neither repeats nor skips an event.
--   * incidents: acked/acked_by/acked_at (a human took it: `moatctl incidents
--     ack`), event_ids (JSON array of the events that caused it, the newest
--     200), expires (when its threat source lapses; NULL none), responses
--     (how many times the rule responded to the key through this row; their
--     sum over a rule and key picks the escalation step).
--   * meta.rule_generation: bumped by triggers on any correlation_rules
--     change, as policy_generation is for the policy tables; secmgr polls it
--     and swaps in a new rule snapshot.
--   * events_by_ts: secmgr re-reads the events of its longest window at
--     start (the correlation state is not stored).
CREATE TABLE secmgr_state (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  last_event_id INTEGER NOT NULL DEFAULT 0 CHECK (last_event_id >= 0),
  updated       INTEGER
);
INSERT INTO secmgr_state(id, last_event_id) VALUES (1, 0);
ALTER TABLE incidents ADD COLUMN acked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN acked_by TEXT;
ALTER TABLE incidents ADD COLUMN acked_at INTEGER;
ALTER TABLE incidents ADD COLUMN event_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE incidents ADD COLUMN expires INTEGER;
ALTER TABLE incidents ADD COLUMN responses INTEGER NOT NULL DEFAULT 1;
CREATE INDEX incidents_by_rule_key ON incidents(rule_id, key, status);
CREATE INDEX events_by_ts ON events(ts);
INSERT INTO meta(key, value) VALUES ('rule_generation', '1');
CREATE TRIGGER rules_gen_i AFTER INSERT ON correlation_rules BEGIN UPDATE meta SET value = value + 1 WHERE key = 'rule_generation'; END;
CREATE TRIGGER rules_gen_u AFTER UPDATE ON correlation_rules BEGIN UPDATE meta SET value = value + 1 WHERE key = 'rule_generation'; END;
CREATE TRIGGER rules_gen_d AFTER DELETE ON correlation_rules BEGIN UPDATE meta SET value = value + 1 WHERE key = 'rule_generation'; END;
UPDATE meta SET value = '7' WHERE key = 'schema_version';
