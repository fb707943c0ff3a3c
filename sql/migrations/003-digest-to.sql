-- 003: who receives quarantine digests: the subscriber's contact address
-- (one digest per subscriber) or each recipient (one digest per recipient
-- address of the subscriber's domains, listing the items addressed to it).
ALTER TABLE policies ADD COLUMN digest_to TEXT NOT NULL DEFAULT 'subscriber'
  CHECK (digest_to IN ('subscriber', 'recipients'));
UPDATE meta SET value = '3' WHERE key = 'schema_version';
