-- Moat store schema, version 7.
--
-- One SQLite file (WAL mode) shared by every Moat daemon and edited by
-- operators, either with `moatctl` or directly with sqlite3.  This file is the
-- whole current schema; `moatctl db init` runs it on an empty file, and
-- `moatctl db migrate` brings an older file up to date with the numbered
-- scripts in sql/migrations/ (NNN-name.sql, applied in order, each in one
-- transaction, each ending by setting meta.schema_version).
--
-- Conventions
--   * Times are UTC, stored as integer Unix seconds.
--   * Domains and addresses are stored lower-case.
--   * Edits to the policy tables (subscribers, domains, networks, policies,
--     threat sources, ...) bump meta.policy_generation through the triggers at
--     the end of this file; daemons poll that counter and load a fresh
--     in-memory snapshot within seconds.  No restart is ever needed.

PRAGMA foreign_keys = ON;

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- A subscribing organization.  Suspended subscribers' recipients are refused.
CREATE TABLE subscribers (
  id      INTEGER PRIMARY KEY,
  name    TEXT NOT NULL UNIQUE,
  status  TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  contact TEXT,                          -- operator-facing contact address
  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);

-- Mail domains a subscriber receives mail for (and sends mail from).
-- "alpha.example" matches only that domain; ".alpha.example" also matches
-- every subdomain of it.
CREATE TABLE subscriber_domains (
  domain        TEXT PRIMARY KEY CHECK (domain = lower(domain) AND length(domain) > 0),
  subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE
);

-- Client networks of a subscriber (outbound mail, downloads), IPv4 or IPv6 CIDR.
CREATE TABLE subscriber_networks (
  cidr          TEXT PRIMARY KEY,
  subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE
);

-- Credentials; secret_hash is never the plain secret.
CREATE TABLE subscriber_credentials (
  id            INTEGER PRIMARY KEY,
  subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
  kind          TEXT NOT NULL CHECK (kind IN ('password', 'token', 'cert')),
  secret_hash   TEXT NOT NULL,
  created       INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
  -- password kind: the login for SMTP AUTH (Dovecot's SQL passdb reads this
  -- table) and Basic auth; canonical lower case; secret_hash is yescrypt.
  login         TEXT CHECK (login IS NULL OR (login = lower(login) AND length(login) BETWEEN 1 AND 320))
);
CREATE UNIQUE INDEX subscriber_credentials_login ON subscriber_credentials(login)
  WHERE login IS NOT NULL;
-- cert kind: secret_hash is the SHA-256 fingerprint of the certificate's DER
-- (64 lower-case hex digits); a certificate identifies one subscriber.
CREATE UNIQUE INDEX subscriber_credentials_cert ON subscriber_credentials(secret_hash)
  WHERE kind = 'cert';

-- Scan policy.  Actions:
--   on_infected:    reject | discard | quarantine | repair | tag
--   on_unscannable: tempfail | reject | pass | tag | quarantine   (encrypted archive, limits)
--   on_error:       tempfail | reject | pass                        (scan engine failure)
-- "pass" and "tag" on unscannable mail always add a status header saying why.
-- Digests (digest = 1) of newly held items go to the subscriber's contact
-- (digest_to = subscriber) or to each recipient of the items (recipients).
CREATE TABLE policies (
  id                INTEGER PRIMARY KEY,
  name              TEXT NOT NULL UNIQUE,
  scan_mode         TEXT NOT NULL DEFAULT 'all'
                    CHECK (scan_mode IN ('all', 'executables', 'macros', 'executables_macros', 'none')),
  max_scan_bytes    INTEGER NOT NULL DEFAULT 26214400 CHECK (max_scan_bytes > 0),
  on_infected       TEXT NOT NULL DEFAULT 'reject'
                    CHECK (on_infected IN ('reject', 'discard', 'quarantine', 'repair', 'tag')),
  on_unscannable    TEXT NOT NULL DEFAULT 'tempfail'
                    CHECK (on_unscannable IN ('tempfail', 'reject', 'pass', 'tag', 'quarantine')),
  on_error          TEXT NOT NULL DEFAULT 'tempfail'
                    CHECK (on_error IN ('tempfail', 'reject', 'pass')),
  repair            INTEGER NOT NULL DEFAULT 0 CHECK (repair IN (0, 1)),
  quarantine        INTEGER NOT NULL DEFAULT 0 CHECK (quarantine IN (0, 1)),
  heuristics        INTEGER NOT NULL DEFAULT 1 CHECK (heuristics IN (0, 1)),  -- macros, encrypted, broken executables
  notify_sender     INTEGER NOT NULL DEFAULT 0 CHECK (notify_sender IN (0, 1)),
  notify_recipients INTEGER NOT NULL DEFAULT 0 CHECK (notify_recipients IN (0, 1)),
  notify_admin      TEXT,                -- address, or NULL for none
  notify_style      TEXT NOT NULL DEFAULT 'message'
                    CHECK (notify_style IN ('append', 'attachment', 'message')),
  skip_forged_senders INTEGER NOT NULL DEFAULT 1 CHECK (skip_forged_senders IN (0, 1)),
  header_mode       TEXT NOT NULL DEFAULT 'add' CHECK (header_mode IN ('add', 'replace', 'none')),
  retention_days    INTEGER NOT NULL DEFAULT 30 CHECK (retention_days >= 0),
  digest            INTEGER NOT NULL DEFAULT 0 CHECK (digest IN (0, 1)),
  auto_release_fp   INTEGER NOT NULL DEFAULT 0 CHECK (auto_release_fp IN (0, 1)),
  digest_to         TEXT NOT NULL DEFAULT 'subscriber' CHECK (digest_to IN ('subscriber', 'recipients')),
  -- Recipients of one transaction with different policies: 'combine' scans
  -- under one policy at least as strict as each on every dimension; 'defer'
  -- answers 4xx at RCPT to each recipient whose policy differs from the
  -- first accepted recipient's (the sender retries them separately).
  mixed_recipients  TEXT NOT NULL DEFAULT 'combine' CHECK (mixed_recipients IN ('combine', 'defer'))
);

CREATE TABLE subscriber_policies (
  subscriber_id INTEGER PRIMARY KEY REFERENCES subscribers(id) ON DELETE CASCADE,
  policy_id     INTEGER NOT NULL REFERENCES policies(id)
);

-- Per-recipient override of the subscriber's policy.
CREATE TABLE recipient_policies (
  address   TEXT PRIMARY KEY CHECK (address = lower(address)),
  policy_id INTEGER NOT NULL REFERENCES policies(id)
);

-- Known bad sources.  kind: ip | cidr | domain (sender/HELO/reverse name and
-- subdomains) | suspect_domain (tagged, not refused).  expires NULL = never.
CREATE TABLE threat_sources (
  id      INTEGER PRIMARY KEY,
  kind    TEXT NOT NULL CHECK (kind IN ('ip', 'cidr', 'domain', 'suspect_domain')),
  value   TEXT NOT NULL,
  reason  TEXT,
  origin  TEXT NOT NULL DEFAULT 'operator' CHECK (origin IN ('operator', 'secmgr', 'feed')),
  created INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
  expires INTEGER,
  UNIQUE (kind, value)
);

-- Real applications of a subscriber; other ports of its addresses are unused
-- and may be redirected to decoys.
CREATE TABLE protected_services (
  id            INTEGER PRIMARY KEY,
  subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
  address       TEXT NOT NULL,
  port          INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  proto         TEXT NOT NULL DEFAULT 'tcp' CHECK (proto IN ('tcp', 'udp'))
);

-- Held infected originals (moat-quarantined owns rows and spool files).
CREATE TABLE quarantine (
  id            INTEGER PRIMARY KEY,
  received      INTEGER NOT NULL,
  subscriber_id INTEGER REFERENCES subscribers(id) ON DELETE SET NULL,
  queue_id      TEXT,
  sender        TEXT,
  recipients    TEXT NOT NULL,           -- JSON array of addresses
  client_addr   TEXT,
  policy_id     INTEGER,
  viruses       TEXT NOT NULL,           -- JSON array of signature names
  size          INTEGER NOT NULL,
  sha256        TEXT NOT NULL,
  path          TEXT NOT NULL,           -- spool-relative
  status        TEXT NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'released', 'deleted')),
  fp_candidate  INTEGER NOT NULL DEFAULT 0,
  digested      INTEGER NOT NULL DEFAULT 0,
  released_at   INTEGER,
  release_reply TEXT,
  -- Why held: only 'virus' holds may be released automatically.
  hold          TEXT NOT NULL DEFAULT 'virus' CHECK (hold IN ('virus', 'heuristic', 'unscannable')),
  scan_settings TEXT                     -- JSON: what the milter scanned with, for rescans
);
CREATE INDEX quarantine_by_subscriber ON quarantine(subscriber_id, received);
CREATE INDEX quarantine_by_sha256 ON quarantine(sha256);

-- Append-only security events; kinds are cataloged in common/event_kinds.h.
CREATE TABLE events (
  id            INTEGER PRIMARY KEY,
  ts            INTEGER NOT NULL,
  daemon        TEXT NOT NULL,
  kind          TEXT NOT NULL,
  severity      INTEGER NOT NULL DEFAULT 0,   -- 0 info, 1 notice, 2 warning, 3 critical
  subscriber_id INTEGER,
  src_ip        TEXT,
  detail_json   TEXT
);
CREATE INDEX events_by_kind ON events(kind, ts);

-- Billing counters, one row per day, subscriber and direction.
CREATE TABLE usage (
  day           TEXT NOT NULL,          -- YYYY-MM-DD (UTC)
  subscriber_id INTEGER NOT NULL,
  direction     TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  messages      INTEGER NOT NULL DEFAULT 0,
  bytes         INTEGER NOT NULL DEFAULT 0,
  infected      INTEGER NOT NULL DEFAULT 0,
  quarantined   INTEGER NOT NULL DEFAULT 0,
  rejected      INTEGER NOT NULL DEFAULT 0,
  -- Network bytes the switch counted (moatctl switch collect): 'in' to the
  -- subscriber's networks, 'out' from them.
  net_bytes     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, subscriber_id, direction)
);

-- The last value `moatctl switch collect` read of each named nftables
-- counter of the switch ("s<SUBSCRIBER>_<NETWORK>_in|out"), so each collect
-- adds only the delta to usage.net_bytes.
CREATE TABLE switch_counters (
  name    TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 128),
  packets INTEGER NOT NULL DEFAULT 0 CHECK (packets >= 0),
  bytes   INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  updated INTEGER NOT NULL
);

CREATE TABLE correlation_rules (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  kind          TEXT NOT NULL CHECK (kind IN ('threshold', 'multi', 'sequence')),
  params_json   TEXT NOT NULL,
  response_json TEXT NOT NULL,
  enabled       INTEGER NOT NULL DEFAULT 1
);

-- moat-secmgr's responses (docs/SECMGR.md).  Since 007: acked/acked_by/acked_at
-- (a human took it: moatctl incidents ack), event_ids (JSON array of the ids
-- of the events that caused it, the newest 200), expires (when its threat
-- source lapses), responses (how many responses this row records; their sum
-- over a rule and key picks the escalation step).
CREATE TABLE incidents (
  id       INTEGER PRIMARY KEY,
  rule_id  INTEGER REFERENCES correlation_rules(id) ON DELETE SET NULL,
  opened   INTEGER NOT NULL,
  updated  INTEGER NOT NULL,
  key      TEXT NOT NULL,
  summary  TEXT,
  response TEXT,
  status   TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  acked     INTEGER NOT NULL DEFAULT 0,
  acked_by  TEXT,
  acked_at  INTEGER,
  event_ids TEXT NOT NULL DEFAULT '[]',
  expires   INTEGER,
  responses INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX incidents_by_rule_key ON incidents(rule_id, key, status);
CREATE INDEX events_by_ts ON events(ts);

-- moat-secmgr's cursor: the last event whose responses are committed (in
-- the same transaction as them: a restart repeats and skips nothing).
CREATE TABLE secmgr_state (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  last_event_id INTEGER NOT NULL DEFAULT 0 CHECK (last_event_id >= 0),
  updated       INTEGER
);
INSERT INTO secmgr_state(id, last_event_id) VALUES (1, 0);

-- Client anti-virus packages operators publish for moat-updated (`moatctl
-- packages add`): one row per release of a package for a platform a bundle
-- can be built for.  path is a bare file name in updated.packages_dir (the
-- daemon opens it relative to that directory); sha256 64 lower-case hex.
-- (The hex check is ltrim(x, digits) = '': portable, unlike GLOB.)
CREATE TABLE av_packages (
  id        INTEGER PRIMARY KEY,
  platform  TEXT NOT NULL CHECK (platform IN ('debian', 'rpm', 'windows')),
  name      TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  version   TEXT NOT NULL CHECK (length(version) BETWEEN 1 AND 64),
  path      TEXT NOT NULL CHECK (length(path) BETWEEN 1 AND 255 AND path NOT LIKE '%/%' AND path NOT LIKE '.%'),
  sha256    TEXT NOT NULL CHECK (length(sha256) = 64 AND ltrim(sha256, '0123456789abcdef') = ''),
  size      INTEGER NOT NULL CHECK (size >= 0),
  published INTEGER NOT NULL
);
CREATE UNIQUE INDEX av_packages_release ON av_packages(platform, name, version);

-- Downloads moat-updated served to subscribers (a mirror file, a bundle):
-- billing per subscriber (`moatctl downloads`).  A row stands for
-- `requests` identical downloads (subscriber, client, what, status) within
-- one flush (about a second); bytes is their sum.  status is the HTTP
-- status (200, 206, 304, ...).  No foreign key: rows of removed
-- subscribers stay billable, as in usage.
CREATE TABLE downloads (
  id            INTEGER PRIMARY KEY,
  ts            INTEGER NOT NULL,
  subscriber_id INTEGER,
  client        TEXT,
  what          TEXT NOT NULL,
  bytes         INTEGER NOT NULL DEFAULT 0,
  status        INTEGER NOT NULL,
  requests      INTEGER NOT NULL DEFAULT 1 CHECK (requests >= 1)
);
CREATE INDEX downloads_by_subscriber ON downloads(subscriber_id, ts);

-- Installed clients: each client's daily update time, drawn once inside
-- updated.window when its first bundle is built, and kept.
CREATE TABLE client_installs (
  id            INTEGER PRIMARY KEY,
  subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
  client        TEXT NOT NULL,
  platform      TEXT NOT NULL,
  update_time   TEXT NOT NULL,          -- HH:MM, local night window
  created       INTEGER NOT NULL
);
CREATE UNIQUE INDEX client_installs_client ON client_installs(subscriber_id, client, platform);

CREATE TABLE decoy_sessions (
  id              INTEGER PRIMARY KEY,
  started         INTEGER NOT NULL,
  ended           INTEGER,
  src_ip          TEXT NOT NULL,
  port            INTEGER NOT NULL,
  personality     TEXT NOT NULL,
  transcript_path TEXT,
  summary         TEXT
);

-- Notification templates, editable by operators.  Placeholders:
-- {virus} {sender} {recipients} {queue_id} {subscriber} {action} {files}
-- {client} {date}.  name: sender | recipient | admin | repair_notice | digest
CREATE TABLE templates (
  name    TEXT PRIMARY KEY,
  subject TEXT NOT NULL,
  body    TEXT NOT NULL
);
INSERT INTO templates(name, subject, body) VALUES
 ('sender', 'Virus found in your message to {recipients}',
  'The message you sent to {recipients} (queue ID {queue_id}) contained {virus}.' || char(10) ||
  'Action taken by the mail gateway: {action}.' || char(10)),
 ('recipient', 'Virus found in a message from {sender}',
  'A message from {sender} to you (queue ID {queue_id}) contained {virus}.' || char(10) ||
  'Action taken by the mail gateway: {action}.' || char(10)),
 ('admin', '[moat] {virus} from {sender}',
  'Queue ID {queue_id}, client {client}, subscriber {subscriber}.' || char(10) ||
  'Sender {sender}, recipients {recipients}.' || char(10) ||
  'Virus {virus}; action {action}; infected parts: {files}.' || char(10)),
 ('repair_notice', 'removed',
  'The attachment {files} contained the virus {virus} and was removed by the mail gateway.' || char(10)),
 ('digest', 'Quarantine digest for {subscriber}',
  'These messages were held in quarantine:' || char(10));

-- Policy generation: every edit of a table that shapes the in-memory policy
-- snapshot bumps it; daemons reload when it changes.
INSERT INTO meta(key, value) VALUES ('schema_version', '7'), ('policy_generation', '1');
-- Rule generation: moat-secmgr reloads its rule snapshot when it changes.
INSERT INTO meta(key, value) VALUES ('rule_generation', '1');
CREATE TRIGGER rules_gen_i AFTER INSERT ON correlation_rules BEGIN UPDATE meta SET value = value + 1 WHERE key = 'rule_generation'; END;
CREATE TRIGGER rules_gen_u AFTER UPDATE ON correlation_rules BEGIN UPDATE meta SET value = value + 1 WHERE key = 'rule_generation'; END;
CREATE TRIGGER rules_gen_d AFTER DELETE ON correlation_rules BEGIN UPDATE meta SET value = value + 1 WHERE key = 'rule_generation'; END;

CREATE TRIGGER subscribers_gen_i AFTER INSERT ON subscribers BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER subscribers_gen_u AFTER UPDATE ON subscribers BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER subscribers_gen_d AFTER DELETE ON subscribers BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER domains_gen_i AFTER INSERT ON subscriber_domains BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER domains_gen_u AFTER UPDATE ON subscriber_domains BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER domains_gen_d AFTER DELETE ON subscriber_domains BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER networks_gen_i AFTER INSERT ON subscriber_networks BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER networks_gen_u AFTER UPDATE ON subscriber_networks BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER networks_gen_d AFTER DELETE ON subscriber_networks BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER policies_gen_i AFTER INSERT ON policies BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER policies_gen_u AFTER UPDATE ON policies BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER policies_gen_d AFTER DELETE ON policies BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER subpol_gen_i AFTER INSERT ON subscriber_policies BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER subpol_gen_u AFTER UPDATE ON subscriber_policies BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER subpol_gen_d AFTER DELETE ON subscriber_policies BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER rcptpol_gen_i AFTER INSERT ON recipient_policies BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER rcptpol_gen_u AFTER UPDATE ON recipient_policies BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER rcptpol_gen_d AFTER DELETE ON recipient_policies BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER threats_gen_i AFTER INSERT ON threat_sources BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER threats_gen_u AFTER UPDATE ON threat_sources BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER threats_gen_d AFTER DELETE ON threat_sources BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER templates_gen_i AFTER INSERT ON templates BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER templates_gen_u AFTER UPDATE ON templates BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER creds_gen_i AFTER INSERT ON subscriber_credentials BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER creds_gen_u AFTER UPDATE ON subscriber_credentials BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER creds_gen_d AFTER DELETE ON subscriber_credentials BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER templates_gen_d AFTER DELETE ON templates BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
