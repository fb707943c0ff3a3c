-- Moat demo data: `moatctl db seed-demo` runs this script in one transaction
-- on a freshly initialised store (it does not check for existing rows, so run
-- it once).  It is what the demo stack and the integration tests use; a real
-- deployment adds its own subscribers the same way, with moatctl or sqlite3.
--
-- What the demo sets up:
--
--   subscriber  status     mail domain    client network   policy
--   Alpha       active     alpha.example  127.0.0.1/32     strict
--   Beta        active     beta.example   127.0.0.3/32     executables-reject
--   Gamma       suspended  gamma.example  -                strict
--
-- 127.0.0.2 belongs to no subscriber (an outside client on loopback), and mail
-- for any other domain is refused: that is moat-milter's configuration for
-- unserved mail, not a row here.
--
-- Rows are tied together by name, never by a literal id, so the script does
-- not depend on the ids SQLite hands out.

-- strict: scan everything.  An infected original is quarantined (quarantine
-- = 1) and a repaired copy, with the infected parts replaced by a notice, is
-- delivered (on_infected = repair, repair = 1); if repair fails, the message
-- is only quarantined.  Recipients get a separate notice message, the
-- subscriber's postmaster an admin copy, and a quarantine digest.
INSERT INTO policies (name, scan_mode, on_infected, repair, quarantine,
                      heuristics, notify_sender, notify_recipients,
                      notify_admin, notify_style, retention_days, digest)
VALUES ('strict', 'all', 'repair', 1, 1,
        1, 0, 1,
        'postmaster@alpha.example', 'message', 30, 1);

-- executables-reject: scan only mail carrying executable content (inside
-- archives too) and reject infected mail at end of DATA, so the sending MTA
-- bounces it; no separate notice to the sender.
INSERT INTO policies (name, scan_mode, on_infected, notify_sender)
VALUES ('executables-reject', 'executables', 'reject', 0);

INSERT INTO subscribers (name, status, contact) VALUES
  ('Alpha', 'active',    'postmaster@alpha.example'),
  ('Beta',  'active',    'postmaster@beta.example'),
  ('Gamma', 'suspended', 'postmaster@gamma.example');   -- recipients refused at RCPT

INSERT INTO subscriber_domains (domain, subscriber_id)
  SELECT 'alpha.example', id FROM subscribers WHERE name = 'Alpha';
INSERT INTO subscriber_domains (domain, subscriber_id)
  SELECT 'beta.example', id FROM subscribers WHERE name = 'Beta';
INSERT INTO subscriber_domains (domain, subscriber_id)
  SELECT 'gamma.example', id FROM subscribers WHERE name = 'Gamma';

INSERT INTO subscriber_networks (cidr, subscriber_id)
  SELECT '127.0.0.1/32', id FROM subscribers WHERE name = 'Alpha';
INSERT INTO subscriber_networks (cidr, subscriber_id)
  SELECT '127.0.0.3/32', id FROM subscribers WHERE name = 'Beta';

INSERT INTO subscriber_policies (subscriber_id, policy_id)
  SELECT s.id, p.id FROM subscribers s, policies p
   WHERE s.name = 'Alpha' AND p.name = 'strict';
INSERT INTO subscriber_policies (subscriber_id, policy_id)
  SELECT s.id, p.id FROM subscribers s, policies p
   WHERE s.name = 'Beta' AND p.name = 'executables-reject';
INSERT INTO subscriber_policies (subscriber_id, policy_id)
  SELECT s.id, p.id FROM subscribers s, policies p
   WHERE s.name = 'Gamma' AND p.name = 'strict';

-- Known bad sources, entered by the operator, never expiring.  A client at
-- 192.0.2.66, and any HELO, reverse name or sender domain at or under
-- evil.example, is handled as a threat source by moat-milter.
INSERT INTO threat_sources (kind, value, reason, origin) VALUES
  ('ip',     '192.0.2.66',   'demo: known spam relay',     'operator'),
  ('domain', 'evil.example', 'demo: malware distribution', 'operator');

-- moat-secmgr's demo rules (docs/SECMGR.md):
--   infected-burst   three infected messages from one client address within
--                    ten minutes: the address is a threat source for an
--                    hour (6 h the second time, a day after that), the
--                    operator is mailed and an incident opened;
--   decoy-then-mail  a decoy login, then infected mail from the same
--                    address within an hour (a multi-phase attack): a threat
--                    source for a day;
--   many-fronts      one address seen by two daemons or more within an hour
--                    (mail, decoys, downloads, the quarantine): an incident
--                    for a human, nothing more.
INSERT INTO correlation_rules (name, kind, params_json, response_json) VALUES
  ('infected-burst', 'threshold',
   '{"kinds":["mail.infected"],"key":"src_ip","count":3,"window":"10m"}',
   '{"threat":{"expiry":["1h","6h","1d"]},"switch":true,"mail":true,"incident":true}'),
  ('decoy-then-mail', 'sequence',
   '{"steps":["decoy.login","mail.infected"],"key":"src_ip","window":"1h"}',
   '{"threat":{"expiry":["1d","1w"]},"switch":true,"mail":true,"incident":true}'),
  ('many-fronts', 'multi',
   '{"kinds":["mail.infected","mail.threat_source","decoy.login","decoy.command","decoy.download","update.denied","quarantine.release_denied"],"key":"src_ip","min_daemons":2,"window":"1h"}',
   '{"incident":true}');
