/*
 * milter_status_test - header values, the recipient list of the log line,
 * the forged-sender table, template expansion and the classification
 * tables of milter_scan.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter.h"
#include "moat_test.h"

static void
check(const char *name, const char *got, const char *want)
{
	TEST_STR_EQ(name, got, want);
}

static void
check_int(const char *name, int got, int want)
{
	TEST_INT_EQ(name, got, want);
}

static void
socket_cases(void)
{
	struct { const char *spec, *want; } c[] = {
		{ "unix:/run/moat/milter.sock", "/run/moat/milter.sock" },
		{ "local:/run/m.sock", "/run/m.sock" }, { "/run/m.sock", "/run/m.sock" },
		{ "inet:8891@127.0.0.1", NULL }, { "inet6:8891@::1", NULL }, { "", NULL },
		{ "unixish:/x", NULL },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const char *got = milter_socket_path(c[i].spec);

		check(c[i].spec, got ? got : "(none)", c[i].want ? c[i].want : "(none)");
	}
	check_int("NULL spec", milter_socket_path(NULL) != NULL, 0);
}

static void
status_cases(void)
{
	struct { const char *name; enum verdict v; const char *virus, *reason, *action, *want; } c[] = {
		{ "clean", VERDICT_CLEAN, "", "", NULL, " clean" },
		{ "infected", VERDICT_INFECTED, "Eicar-Test-Signature", "", "reject",
		  " infected (Eicar-Test-Signature); action=reject" },
		{ "repaired", VERDICT_REPAIRED, "Clamav.Test.File-6", "", NULL, " repaired (Clamav.Test.File-6)" },
		{ "unscanned by mode", VERDICT_UNSCANNED, "", "no executable content", "pass",
		  " unscanned (no executable content); action=pass" },
		{ "unscannable", VERDICT_UNSCANNABLE, "", "Heuristics.Encrypted.Zip", "tag",
		  " unscanned (Heuristics.Encrypted.Zip); action=tag" },
		{ "error no reason", VERDICT_ERROR, "", "", "pass", " unscanned (error); action=pass" },
		{ "control chars", VERDICT_INFECTED, "Bad\r\nName", "", "tag",
		  " infected (Bad??Name); action=tag" },
	};
	char buf[512];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct scan_result r;

		memset(&r, 0, sizeof(r));
		r.verdict = c[i].v;
		snprintf(r.virus, sizeof(r.virus), "%s", c[i].virus);
		snprintf(r.reason, sizeof(r.reason), "%s", c[i].reason);
		status_value(buf, sizeof(buf), &r, c[i].action);
		check(c[i].name, buf, c[i].want);
	}
	status_scanned_value(buf, sizeof(buf), "ClamAV 1.4.6/2");
	if (strncmp(buf, " moat-milter ", 13) != 0 || strstr(buf, "(ClamAV 1.4.6/2)") == NULL) {
		TEST_FAIL("scanned header: \"%s\"", buf);
	}
}

static void
rcpt_cases(void)
{
	struct milter_msg mc;
	struct milter_rcpt r[3];
	char buf[64], small[24];

	memset(&mc, 0, sizeof(mc));
	memset(r, 0, sizeof(r));
	r[0].mr_addr = "a@alpha.example";
	r[1].mr_addr = "b@beta.example";
	r[2].mr_addr = "c@example.org";
	mc.mc_rcpts = r;
	mc.mc_nrcpts = 0;
	status_rcpt_list(buf, sizeof(buf), &mc, ",", 1);
	check("no recipients", buf, "");
	mc.mc_nrcpts = 2;
	status_rcpt_list(buf, sizeof(buf), &mc, ",", 1);
	check("two recipients", buf, "<a@alpha.example>,<b@beta.example>");
	status_rcpt_list(buf, sizeof(buf), &mc, ", ", 0);
	check("plain list", buf, "a@alpha.example, b@beta.example");
	mc.mc_nrcpts = 3;
	status_rcpt_list(small, sizeof(small), &mc, ",", 1);
	check("truncated", small, "<a@alpha.example>,...");
}

static void
forged_cases(void)
{
	struct { const char *virus, *extra; int want; } c[] = {
		{ "Worm.Mydoom.A", NULL, 1 },
		{ "Win.Worm.Netsky-12", NULL, 1 },
		{ "Email.Worm.Bagle-5", NULL, 1 },
		{ "Win.Trojan.Sober-1", NULL, 1 },
		{ "W32.Klez.H@mm", NULL, 1 },
		{ "Eicar-Test-Signature", NULL, 0 },
		{ "Clamav.Test.File-6", NULL, 0 },
		{ "Win.Trojan.Agent-1", NULL, 0 },
		{ "Win.Trojan.Agent-1", "Win.Trojan.Agent*", 1 },
		{ "Win.Trojan.Agent-1", " Foo.* ,  win.trojan.agent-1 ", 1 },
		{ "Win.Trojan.Agent-1", "Foo.*,,", 0 },
		{ NULL, NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char name[128];

		snprintf(name, sizeof(name), "forged %s [%s]", c[i].virus ? c[i].virus : "NULL",
		    c[i].extra ? c[i].extra : "");
		check_int(name, notify_forged(c[i].virus, c[i].extra), c[i].want);
	}
}

static void
expand_cases(void)
{
	struct notify_vars v = {
		.virus = "Eicar-Test-Signature", .sender = "s@example.net",
		.recipients = "a@alpha.example", .queue_id = "4ABC", .subscriber = "Alpha",
		.action = "reject", .files = "eicar.com", .client = "127.0.0.1", .date = "today",
	};
	struct { const char *tpl, *want; } c[] = {
		{ "{virus} from {sender} to {recipients}", "Eicar-Test-Signature from s@example.net to a@alpha.example" },
		{ "[{queue_id}] {subscriber}/{action}/{files}/{client}/{date}", "[4ABC] Alpha/reject/eicar.com/127.0.0.1/today" },
		{ "unknown {name} kept, {unclosed", "unknown {name} kept, {unclosed" },
		{ "", "" },
		{ "{virus}{virus}", "Eicar-Test-SignatureEicar-Test-Signature" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *got = notify_expand(c[i].tpl, &v);

		check(c[i].tpl, got ? got : "(NULL)", c[i].want);
		free(got);
	}
	v.files = NULL;
	char *got = notify_expand("[{files}]", &v);
	check("NULL variable", got ? got : "(NULL)", "[]");
	free(got);
}

static void
classify_cases(void)
{
	struct { const char *s; int (*fn)(const char *); int want; } c[] = {
		{ "CL_TYPE_MSEXE", scan_type_executable, 1 },
		{ "CL_TYPE_ELF", scan_type_executable, 1 },
		{ "CL_TYPE_MACHO_UNIBIN", scan_type_executable, 1 },
		{ "CL_TYPE_ZIP", scan_type_executable, 0 },
		{ "CL_TYPE_TEXT_ASCII", scan_type_executable, 0 },
		{ NULL, scan_type_executable, 0 },
		{ "invoice.exe", scan_name_executable, 1 },
		{ "dir/RUN.BAT", scan_name_executable, 1 },
		{ "x.tar.gz/setup.ps1", scan_name_executable, 1 },
		{ "report.pdf", scan_name_executable, 0 },
		{ "exe", scan_name_executable, 0 },
		{ "trailing.", scan_name_executable, 0 },
		{ NULL, scan_name_executable, 0 },
		{ "budget.xlsm", scan_name_macro, 1 },
		{ "word/vbaProject.bin", scan_name_macro, 1 },
		{ "letter.docx", scan_name_macro, 0 },
		{ NULL, scan_name_macro, 0 },
		{ "Heuristics.Encrypted.Zip", scan_alert_unscannable, 1 },
		{ "Heuristics.Limits.Exceeded.MaxFileSize", scan_alert_unscannable, 1 },
		{ "Heuristics.OLE2.ContainsMacros", scan_alert_unscannable, 0 },
		{ "Eicar-Test-Signature", scan_alert_unscannable, 0 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char name[128];

		snprintf(name, sizeof(name), "classify %s", c[i].s ? c[i].s : "NULL");
		check_int(name, c[i].fn(c[i].s), c[i].want);
	}
}

static const struct test_case cases[] = {
	{ "socket specs",	socket_cases },
	{ "status header",	status_cases },
	{ "recipients",		rcpt_cases },
	{ "forged headers",	forged_cases },
	{ "notice expansion",	expand_cases },
	{ "classification",	classify_cases },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
