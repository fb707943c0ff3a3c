-- 004: mail path hardening.
--   * Logins for SMTP AUTH (Postfix -> Dovecot SASL, whose SQL passdb reads
--     this table) and moat-updated's Basic auth: one credential, every
--     service.  login is the canonical lower-case name; secret_hash a
--     yescrypt string from libxcrypt's crypt ("$y$..."), never the plain
--     secret.  Logins shape the policy snapshot (an authenticated sender
--     buys outbound service), so edits bump the policy generation.
--   * policies.mixed_recipients: 'combine' (default) scans a message for
--     recipients of different policies under one policy at least as strict
--     as each; 'defer' answers 4xx at RCPT to every recipient whose policy
--     differs from the first accepted recipient's, so each transaction
--     carries one policy and the sender retries the rest separately.
--   * quarantine.hold: why an item is held (a signature, a heuristic alert,
--     or unscannable content); only 'virus' holds may ever be released
--     automatically.  quarantine.scan_settings: the exact settings the
--     milter scanned with (JSON), so a rescan repeats them.
ALTER TABLE subscriber_credentials ADD COLUMN login TEXT
  CHECK (login IS NULL OR (login = lower(login) AND length(login) BETWEEN 1 AND 320));
CREATE UNIQUE INDEX subscriber_credentials_login ON subscriber_credentials(login)
  WHERE login IS NOT NULL;
CREATE TRIGGER creds_gen_i AFTER INSERT ON subscriber_credentials BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER creds_gen_u AFTER UPDATE ON subscriber_credentials BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER creds_gen_d AFTER DELETE ON subscriber_credentials BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
ALTER TABLE policies ADD COLUMN mixed_recipients TEXT NOT NULL DEFAULT 'combine'
  CHECK (mixed_recipients IN ('combine', 'defer'));
ALTER TABLE quarantine ADD COLUMN hold TEXT NOT NULL DEFAULT 'virus'
  CHECK (hold IN ('virus', 'heuristic', 'unscannable'));
ALTER TABLE quarantine ADD COLUMN scan_settings TEXT;
UPDATE meta SET value = '4' WHERE key = 'schema_version';
