-- 002: operator-editable notification templates (moat-milter notices, digests).
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

CREATE TRIGGER templates_gen_i AFTER INSERT ON templates BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER templates_gen_u AFTER UPDATE ON templates BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
CREATE TRIGGER templates_gen_d AFTER DELETE ON templates BEGIN UPDATE meta SET value = value + 1 WHERE key = 'policy_generation'; END;
UPDATE meta SET value = '2' WHERE key = 'schema_version';
