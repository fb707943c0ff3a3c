-- The fixed store of nftswitch_test's goldens (now = 1800000000).
INSERT INTO subscribers(id, name) VALUES (1, 'Alpha'), (2, 'Beta'), (3, 'Gamma');
INSERT INTO subscriber_networks(cidr, subscriber_id) VALUES
  ('10.0.2.0/24', 1), ('2001:db8:2::/48', 1), ('10.0.3.0/24', 2), ('198.18.0.0/15', 3);
INSERT INTO protected_services(id, subscriber_id, address, port, proto) VALUES
  (1, 1, '10.0.2.2', 80, 'tcp'), (2, 1, '10.0.2.2', 22, 'tcp'), (3, 1, '10.0.2.3', 53, 'udp'),
  (4, 1, '2001:DB8:2::2', 443, 'tcp'), (5, 2, '10.0.3.5', 25, 'tcp'), (6, 2, '10.0.3.5', 25, 'tcp');
INSERT INTO threat_sources(id, kind, value, expires) VALUES
  (1, 'ip', '192.0.2.7', NULL),                 -- never expires: no timeout
  (2, 'cidr', '198.51.100.0/24', 1800003600),   -- an hour left
  (3, 'ip', '198.51.100.9', 1800000600),        -- inside 2, shorter: folded
  (4, 'ip', '203.0.113.5', 1799999999),         -- expired: left out
  (5, 'ip', '2001:DB8:DEAD::1', NULL),
  (6, 'cidr', '2001:db8:bad::/48', 1800086400),
  (7, 'domain', 'bad.example', NULL),           -- TTL 300
  (8, 'suspect_domain', '.sub.example', 1800000100),  -- expiry before TTL
  (9, 'domain', 'long.example', NULL),          -- TTL 10 days: capped
  (10, 'domain', 'gone.example', NULL);         -- does not resolve
