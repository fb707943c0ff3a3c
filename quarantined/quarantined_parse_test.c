/*
 * Unit tests of the pure parts of moat-quarantined: id, time and address
 * validation, spool path containment, SHA-256 against published vectors,
 * and digest template expansion.  Table-driven; every case is named and
 * reports got/want.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quarantined.h"
#include "moat_test.h"

static void
test_parse_id(void)
{
	static const struct { const char *name, *in; int rc; long long want; } t[] = {
		{ "plain", "12", 0, 12 },
		{ "max", "9223372036854775807", 0, 9223372036854775807LL },
		{ "overflow", "9223372036854775808", -1, 0 },
		{ "huge", "99999999999999999999999", -1, 0 },
		{ "zero", "0", -1, 0 },
		{ "negative", "-1", -1, 0 },
		{ "plus", "+1", -1, 0 },
		{ "trailing junk", "12abc", -1, 0 },
		{ "traversal", "../../etc/passwd", -1, 0 },
		{ "empty", "", -1, 0 },
		{ "space", " 1", -1, 0 },
		{ "hex", "0x10", -1, 0 },
		{ "leading zero ok", "007", 0, 7 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t got = 0;
		int rc = parse_id(t[i].in, &got);
		TEST_CHECK(rc == t[i].rc, "parse_id %s: rc got %d want %d", t[i].name, rc, t[i].rc);
		if (rc == 0 && t[i].rc == 0)
			TEST_CHECK(got == t[i].want, "parse_id %s: got %lld want %lld", t[i].name,
			    (long long)got, t[i].want);
	}
	int64_t v;
	TEST_CHECK(parse_id(NULL, &v) == -1, "parse_id NULL accepted");
	TEST_CHECK(parse_uint("0", &v) == 0 && v == 0, "parse_uint 0 refused");
}

static void
test_parse_time(void)
{
	static const struct { const char *name, *in; int rc; long long want; } t[] = {
		{ "unix seconds", "1700000000", 0, 1700000000LL },
		{ "date", "2024-01-02", 0, 1704153600LL },
		{ "leap day", "2024-02-29", 0, 1709164800LL },
		{ "impossible date", "2023-02-29", -1, 0 },
		{ "month 13", "2024-13-01", -1, 0 },
		{ "date with junk", "2024-01-0x", -1, 0 },
		{ "negative", "-5", -1, 0 },
		{ "words", "yesterday", -1, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t got = 0;
		int rc = parse_time(t[i].in, &got);
		TEST_CHECK(rc == t[i].rc, "parse_time %s: rc got %d want %d", t[i].name, rc, t[i].rc);
		if (rc == 0 && t[i].rc == 0)
			TEST_CHECK(got == t[i].want, "parse_time %s: got %lld want %lld", t[i].name,
			    (long long)got, t[i].want);
	}
}

static void
test_addr(void)
{
	static const struct { const char *name, *in; int ok; } t[] = {
		{ "simple", "user@alpha.example", 1 },
		{ "plus tag", "u+tag@alpha.example", 1 },
		{ "no at", "user", 0 },
		{ "no local", "@alpha.example", 0 },
		{ "no domain", "user@", 0 },
		{ "angle", "<user@alpha.example>", 0 },
		{ "space", "us er@alpha.example", 0 },
		{ "crlf", "user@alpha.example\r\nRCPT TO:<x@y>", 0 },
		{ "bad domain char", "user@alpha_example!", 0 },
		{ "trailing dot", "user@alpha.example.", 0 },
		{ "comma list", "a@b.example,c@d.example", 0 },
		{ "empty", "", 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		TEST_CHECK(parse_addr_ok(t[i].in) == t[i].ok, "parse_addr_ok %s: got %d want %d",
		    t[i].name, parse_addr_ok(t[i].in), t[i].ok);
	char longaddr[400];
	memset(longaddr, 'a', sizeof(longaddr));
	memcpy(longaddr + 380, "@x.example", 11);
	TEST_CHECK(!parse_addr_ok(longaddr), "parse_addr_ok: over-long address accepted");
}

static void
test_spool_path(void)
{
	const char *sha = "152f17ac7a38f5d25376dd86328a96a17551fa061a49aa32649ee50c07d9c7c2";
	char ok[80], wrongdir[80], upper[80];

	snprintf(ok, sizeof(ok), "15/%s", sha);
	snprintf(wrongdir, sizeof(wrongdir), "16/%s", sha);
	snprintf(upper, sizeof(upper), "15/%s", sha);
	upper[10] = 'A';
	static const struct { const char *name; const char *in; int ok; } t[] = {
		{ "traversal", "../../etc/passwd", 0 },
		{ "absolute", "/etc/passwd", 0 },
		{ "empty", "", 0 },
		{ "dotdot in sha slot",
		  "15/../../../../../../../../../../../../../../../../../../../etc/pass", 0 },
	};
	TEST_CHECK(parse_spool_path_ok(ok), "spool path: valid path refused");
	TEST_CHECK(!parse_spool_path_ok(wrongdir), "spool path: wrong directory accepted");
	TEST_CHECK(!parse_spool_path_ok(upper), "spool path: upper-case hex accepted");
	TEST_CHECK(!parse_spool_path_ok(NULL), "spool path: NULL accepted");
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		TEST_CHECK(parse_spool_path_ok(t[i].in) == t[i].ok, "spool path %s: got %d want %d",
		    t[i].name, parse_spool_path_ok(t[i].in), t[i].ok);
}

static void
test_sha256(void)
{
	/* FIPS 180-2 / NIST CSRC examples. */
	static const struct { const char *name, *in, *want; } t[] = {
		{ "empty", "",
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "abc",
		  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "two blocks", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	char hex[QD_SHA256_HEX];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		sha256_hex(t[i].in, strlen(t[i].in), hex);
		TEST_CHECK(strcmp(hex, t[i].want) == 0, "sha256 %s: got %s want %s", t[i].name,
		    hex, t[i].want);
		TEST_CHECK(parse_sha256_ok(hex), "sha256 %s: own output not valid hex", t[i].name);
	}
	/* A million 'a' (the third NIST vector), streamed like an upload. */
	char *m = malloc(1000000);
	if (m != NULL) {
		memset(m, 'a', 1000000);
		sha256_hex(m, 1000000, hex);
		TEST_CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
		    == 0, "sha256 million a: got %s", hex);
		free(m);
	}
}

static void
test_mode_and_tokens(void)
{
	unsigned m;

	TEST_CHECK(parse_mode("0660", &m) == 0 && m == 0660, "parse_mode 0660");
	TEST_CHECK(parse_mode("0999", &m) == -1, "parse_mode accepted 0999");
	TEST_CHECK(parse_mode("01777", &m) == -1, "parse_mode accepted sticky bits");
	TEST_CHECK(parse_token_ok("4C1x2y3z", 64), "queue id refused");
	TEST_CHECK(!parse_token_ok("a b", 64), "token with space accepted");
	TEST_CHECK(!parse_token_ok("abc\x01", 64), "token with control accepted");
	TEST_CHECK(!parse_token_ok("abcdef", 5), "over-long token accepted");
	TEST_CHECK(parse_text_ok("Win.Test EICAR", 64), "text with space refused");
}

static void
test_digest_expand(void)
{
	static const struct { const char *name, *tpl, *want; } t[] = {
		{ "subscriber", "Digest for {subscriber}", "Digest for Alpha" },
		{ "date twice", "{date}/{date}", "D/D" },
		{ "unknown kept", "{virus} x", "{virus} x" },
		{ "unterminated", "{subscr", "{subscr" },
		{ "empty", "", "" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *got = digest_expand(t[i].tpl, "Alpha", "D");
		TEST_CHECK(got != NULL && strcmp(got, t[i].want) == 0, "digest_expand %s: got \"%s\" "
		    "want \"%s\"", t[i].name, got ? got : "(null)", t[i].want);
		free(got);
	}
}

static const struct test_case cases[] = {
	{ "parse_id",		test_parse_id },
	{ "parse_time",		test_parse_time },
	{ "addresses",		test_addr },
	{ "spool paths",	test_spool_path },
	{ "sha256",		test_sha256 },
	{ "mode and tokens",	test_mode_and_tokens },
	{ "digest_expand",	test_digest_expand },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
