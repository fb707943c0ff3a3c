-- 005: moat-updated, the client anti-virus server.
--   * av_packages (written by `moatctl packages add`, read by the install
--     page and the bundles): one row per (platform, name, version); the
--     platforms a bundle can be built for; sha256 as 64 lower-case hex
--     digits; path a bare file name in updated.packages_dir (never a path:
--     the daemon opens it relative to that directory).  SQLite cannot add a
--     CHECK to a table, so the table is rebuilt (copy, drop, rename);
--     rows repeating a (platform, name, version) keep the newest.
--   * client_installs: one update time per (subscriber, client, platform),
--     drawn once and kept; repeated rows keep the first draw.
--   * subscriber_credentials of kind 'cert': secret_hash is the SHA-256
--     fingerprint of the certificate's DER (64 lower-case hex digits, what
--     `moatctl cert add` stores); one subscriber per certificate.
--   * downloads: per-subscriber reports by time (`moatctl downloads`); a
--     row stands for `requests` identical downloads (same subscriber,
--     client, file and status) within one of moat-updated's flushes, so a
--     client fetching fast costs one row a second, not one per request.
-- Portable SQL only (no GLOB, no SQLite pragmas): the hex check is
-- ltrim(x, digits) = '', which PostgreSQL spells the same way.
CREATE TABLE av_packages_new (
  id        INTEGER PRIMARY KEY,
  platform  TEXT NOT NULL CHECK (platform IN ('debian', 'rpm', 'windows')),
  name      TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  version   TEXT NOT NULL CHECK (length(version) BETWEEN 1 AND 64),
  path      TEXT NOT NULL CHECK (length(path) BETWEEN 1 AND 255 AND path NOT LIKE '%/%' AND path NOT LIKE '.%'),
  sha256    TEXT NOT NULL CHECK (length(sha256) = 64 AND ltrim(sha256, '0123456789abcdef') = ''),
  size      INTEGER NOT NULL CHECK (size >= 0),
  published INTEGER NOT NULL
);
INSERT INTO av_packages_new(id, platform, name, version, path, sha256, size, published)
  SELECT id, platform, name, version, path, sha256, size, published FROM av_packages
  WHERE id IN (SELECT max(id) FROM av_packages GROUP BY platform, name, version);
DROP TABLE av_packages;
ALTER TABLE av_packages_new RENAME TO av_packages;
CREATE UNIQUE INDEX av_packages_release ON av_packages(platform, name, version);
DELETE FROM client_installs
  WHERE id NOT IN (SELECT min(id) FROM client_installs GROUP BY subscriber_id, client, platform);
CREATE UNIQUE INDEX client_installs_client ON client_installs(subscriber_id, client, platform);
CREATE UNIQUE INDEX subscriber_credentials_cert ON subscriber_credentials(secret_hash)
  WHERE kind = 'cert';
ALTER TABLE downloads ADD COLUMN requests INTEGER NOT NULL DEFAULT 1 CHECK (requests >= 1);
CREATE INDEX downloads_by_subscriber ON downloads(subscriber_id, ts);
UPDATE meta SET value = '5' WHERE key = 'schema_version';
