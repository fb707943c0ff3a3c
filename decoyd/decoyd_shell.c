/*
 * decoyd_shell - a fake shell on a fake filesystem.  The filesystem is a
 * read-only template compiled in (a small Debian server), with the host
 * identity of the config and the logged-in user's home added; nothing an
 * intruder types changes it or reaches the real system: commands are looked
 * up in a table of functions that print plausible answers, download tools
 * record the URL (decoy.download) and fetch nothing, and no command is ever
 * executed.  Per session: the working directory and a bounded history.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decoyd.h"
#include "decoyd_pipe.h"

#define SH_ARGS     64
#define SH_PATH     256
#define SH_HISTORY  100

struct sh_node {
	const char *path;
	char        type;           /* 'd' or 'f' */
	const char *mode;
	const char *owner;
	const char *content;        /* files; NULL = generated (sh_generated) */
};

static const struct sh_node sh_tree[] = {
	{ "/", 'd', "drwxr-xr-x", "root", NULL },
	{ "/bin", 'd', "lrwxrwxrwx", "root", NULL },
	{ "/boot", 'd', "drwxr-xr-x", "root", NULL },
	{ "/dev", 'd', "drwxr-xr-x", "root", NULL },
	{ "/etc", 'd', "drwxr-xr-x", "root", NULL },
	{ "/etc/hostname", 'f', "-rw-r--r--", "root", NULL },
	{ "/etc/hosts", 'f', "-rw-r--r--", "root", NULL },
	{ "/etc/issue", 'f', "-rw-r--r--", "root", NULL },
	{ "/etc/os-release", 'f', "-rw-r--r--", "root",
	  "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
	  "VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\n"
	  "ID=debian\nHOME_URL=\"https://www.debian.org/\"\n"
	  "SUPPORT_URL=\"https://www.debian.org/support\"\n"
	  "BUG_REPORT_URL=\"https://bugs.debian.org/\"\n" },
	{ "/etc/passwd", 'f', "-rw-r--r--", "root",
	  "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	  "bin:x:2:2:bin:/bin:/usr/sbin/nologin\nsys:x:3:3:sys:/dev:/usr/sbin/nologin\n"
	  "sync:x:4:65534:sync:/bin:/bin/sync\ngames:x:5:60:games:/usr/games:/usr/sbin/nologin\n"
	  "man:x:6:12:man:/var/cache/man:/usr/sbin/nologin\nlp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin\n"
	  "mail:x:8:8:mail:/var/mail:/usr/sbin/nologin\nnews:x:9:9:news:/var/spool/news:/usr/sbin/nologin\n"
	  "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
	  "backup:x:34:34:backup:/var/backups:/usr/sbin/nologin\n"
	  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	  "systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin\n"
	  "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n"
	  "admin:x:1000:1000:admin,,,:/home/admin:/bin/bash\n" },
	{ "/etc/shadow", 'f', "-rw-r-----", "root", NULL },
	{ "/home", 'd', "drwxr-xr-x", "root", NULL },
	{ "/home/admin", 'd', "drwxr-xr-x", "admin", NULL },
	{ "/home/admin/.bash_history", 'f', "-rw-------", "admin",
	  "sudo apt update\nsudo systemctl restart nginx\nls -la /var/www\nexit\n" },
	{ "/lib", 'd', "lrwxrwxrwx", "root", NULL },
	{ "/opt", 'd', "drwxr-xr-x", "root", NULL },
	{ "/proc", 'd', "dr-xr-xr-x", "root", NULL },
	{ "/proc/cpuinfo", 'f', "-r--r--r--", "root",
	  "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n"
	  "model name\t: Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz\ncpu MHz\t\t: 2100.000\n"
	  "cache size\t: 22528 KB\ncpu cores\t: 2\n\n" },
	{ "/proc/version", 'f', "-r--r--r--", "root", NULL },
	{ "/root", 'd', "drwx------", "root", NULL },
	{ "/run", 'd', "drwxr-xr-x", "root", NULL },
	{ "/sbin", 'd', "lrwxrwxrwx", "root", NULL },
	{ "/srv", 'd', "drwxr-xr-x", "root", NULL },
	{ "/tmp", 'd', "drwxrwxrwt", "root", NULL },
	{ "/usr", 'd', "drwxr-xr-x", "root", NULL },
	{ "/usr/bin", 'd', "drwxr-xr-x", "root", NULL },
	{ "/usr/sbin", 'd', "drwxr-xr-x", "root", NULL },
	{ "/var", 'd', "drwxr-xr-x", "root", NULL },
	{ "/var/log", 'd', "drwxr-xr-x", "root", NULL },
	{ "/var/www", 'd', "drwxr-xr-x", "root", NULL },
	{ "/var/www/html", 'd', "drwxr-xr-x", "www-data", NULL },
	{ "/var/www/html/index.html", 'f', "-rw-r--r--", "www-data",
	  "<html><body><h1>It works!</h1></body></html>\n" },
};
#define SH_NTREE (sizeof(sh_tree) / sizeof(sh_tree[0]))

struct dd_shell {
	struct dd_session *s;
	char               user[33];
	char               home[SH_PATH];
	char               cwd[SH_PATH];
	char              *hist[SH_HISTORY];
	unsigned           nhist;          /* lines ever entered */
	char              *pipe;           /* a pipeline's captured output (sh_out) */
	size_t             pipe_len, pipe_cap;
	int                capturing;
};

#define SH_PIPE_MAX  (64 * 1024)        /* output one pipeline stage may hand on */
#define SH_STAGES    8

/* Output: "\n" becomes "\r\n" (no pty here does it), text kept valid UTF-8. */
static void
sh_out(struct dd_shell *sh, const char *text)
{
	const char *nl;
	size_t n = strlen(text), cap;
	char *b;

	if (sh->capturing) {            /* the left of a '|': kept for the filter */
		if (sh->pipe_len + n > SH_PIPE_MAX)
			n = SH_PIPE_MAX - sh->pipe_len;
		if (sh->pipe_len + n > sh->pipe_cap) {
			cap = sh->pipe_len + n > 1024 ? SH_PIPE_MAX : 1024;
			if ((b = realloc(sh->pipe, cap)) == NULL)
				return;
			sh->pipe = b;
			sh->pipe_cap = cap;
		}
		memcpy(sh->pipe + sh->pipe_len, text, n);
		sh->pipe_len += n;
		return;
	}
	while ((nl = strchr(text, '\n')) != NULL) {
		sess_sendtext(sh->s, text, nl - text);
		sess_send(sh->s, "\r\n", 2, 1);
		text = nl + 1;
	}
	sess_sendtext(sh->s, text, strlen(text));
}

static void
sh_printf(struct dd_shell *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
sh_printf(struct dd_shell *sh, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sh_out(sh, buf);
}

struct dd_shell *
shell_new(struct dd_session *s, const char *user)
{
	struct dd_shell *sh;
	size_t i, o = 0;

	if ((sh = calloc(1, sizeof(*sh))) == NULL)
		return NULL;
	sh->s = s;
	/* The name in prompts and paths: printable, no '/', bounded. */
	for (i = 0; user[i] != '\0' && o < sizeof(sh->user) - 1; i++)
		if (user[i] > ' ' && user[i] < 0x7f && user[i] != '/')
			sh->user[o++] = user[i];
	if (o == 0)
		snprintf(sh->user, sizeof(sh->user), "user");
	if (strcmp(sh->user, "root") == 0)
		snprintf(sh->home, sizeof(sh->home), "/root");
	else
		snprintf(sh->home, sizeof(sh->home), "/home/%s", sh->user);
	snprintf(sh->cwd, sizeof(sh->cwd), "%s", sh->home);
	sh_printf(sh, "Linux %s %s %s x86_64\n\nThe programs included with the Debian "
	    "GNU/Linux system are free software;\nthe exact distribution terms for each "
	    "program are described in the\nindividual files in /usr/share/doc/*/copyright.\n\n"
	    "Debian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent\npermitted by "
	    "applicable law.\n", s->conf->d.hostname, s->conf->d.kernel, s->conf->d.kernel_version);
	return sh;
}

void
shell_free(struct dd_shell *sh)
{
	size_t i;

	if (sh == NULL)
		return;
	for (i = 0; i < SH_HISTORY; i++)
		free(sh->hist[i]);
	free(sh->pipe);
	free(sh);
}

void
shell_prompt(struct dd_shell *sh)
{
	size_t hl = strlen(sh->home);

	if (strncmp(sh->cwd, sh->home, hl) == 0 && (sh->cwd[hl] == '\0' || sh->cwd[hl] == '/'))
		sh_printf(sh, "%s@%s:~%s%s ", sh->user, sh->s->conf->d.hostname, sh->cwd + hl,
		    strcmp(sh->user, "root") == 0 ? "#" : "$");
	else
		sh_printf(sh, "%s@%s:%s%s ", sh->user, sh->s->conf->d.hostname, sh->cwd,
		    strcmp(sh->user, "root") == 0 ? "#" : "$");
}

/* ---------------------------------------------------------- paths */

/* arg resolved against cwd into out ("/a/b", no "." or ".."). */
static void
fs_resolve(const char *home, const char *cwd, const char *arg, char *out, size_t cap)
{
	char tmp[SH_PATH * 2], *seg, *save = NULL;
	size_t o = 0;

	if (arg[0] == '~')
		snprintf(tmp, sizeof(tmp), "%s/%s", home, arg + 1);
	else if (arg[0] == '/')
		snprintf(tmp, sizeof(tmp), "%s", arg);
	else
		snprintf(tmp, sizeof(tmp), "%s/%s", cwd, arg);
	out[0] = '\0';
	for (seg = strtok_r(tmp, "/", &save); seg != NULL; seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			out[o] = '\0';
			continue;
		}
		if (o + strlen(seg) + 2 >= cap)
			break;
		out[o++] = '/';
		strcpy(out + o, seg);
		o += strlen(seg);
	}
	if (o == 0)
		snprintf(out, cap, "/");
}

static void
sh_resolve(struct dd_shell *sh, const char *arg, char *out, size_t cap)
{
	fs_resolve(sh->home, sh->cwd, arg, out, cap);
}

/* 'd', 'f' or 0 (absent); *node when it is in the template. */
static char
fs_lookup(const char *home, const char *path, const struct sh_node **node)
{
	size_t i;

	*node = NULL;
	for (i = 0; i < SH_NTREE; i++)
		if (strcmp(sh_tree[i].path, path) == 0) {
			*node = &sh_tree[i];
			return sh_tree[i].type;
		}
	if (strcmp(path, home) == 0)
		return 'd';
	return 0;
}

static char
sh_lookup(struct dd_shell *sh, const char *path, const struct sh_node **node)
{
	return fs_lookup(sh->home, path, node);
}

static void
sh_generated(struct dd_shell *sh, const char *path)
{
	const struct decoyd_conf *d = &sh->s->conf->d;

	if (strcmp(path, "/etc/hostname") == 0)
		sh_printf(sh, "%s\n", d->hostname);
	else if (strcmp(path, "/etc/hosts") == 0)
	{
		/* Debian's installer writes "FQDN SHORT" when it knows a domain. */
		if (strcmp(sh->s->fqdn, d->hostname) != 0)
			sh_printf(sh, "127.0.0.1\tlocalhost\n127.0.1.1\t%s\t%s\n\n::1\tlocalhost "
			    "ip6-localhost ip6-loopback\n", sh->s->fqdn, d->hostname);
		else
			sh_printf(sh, "127.0.0.1\tlocalhost\n127.0.1.1\t%s\n\n::1\tlocalhost "
			    "ip6-localhost ip6-loopback\n", d->hostname);
	}
	else if (strcmp(path, "/etc/issue") == 0)
		sh_printf(sh, "%s \\n \\l\n\n", d->issue);
	else if (strcmp(path, "/proc/version") == 0)
		sh_printf(sh, "Linux version %s (debian-kernel@lists.debian.org) (gcc-12 "
		    "(Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) %s\n",
		    d->kernel, d->kernel_version);
	else if (strcmp(path, "/etc/shadow") == 0)
		sh_printf(sh, "cat: %s: Permission denied\n", path);
}

/* ---------------------------------------------------------- commands */

typedef void sh_cmd_fn(struct dd_shell *, int, char **);

static void
cmd_ls(struct dd_shell *sh, int argc, char **argv)
{
	char path[SH_PATH];
	const struct sh_node *n;
	const char *target = NULL, *base;
	size_t i, pl;
	int lng = 0, all = 0, col = 0;

	for (i = 1; i < (size_t)argc; i++) {
		if (argv[i][0] == '-') {
			lng |= strchr(argv[i], 'l') != NULL;
			all |= strchr(argv[i], 'a') != NULL;
		} else if (target == NULL) {
			target = argv[i];
		}
	}
	sh_resolve(sh, target != NULL ? target : ".", path, sizeof(path));
	switch (sh_lookup(sh, path, &n)) {
	case 0:
		sh_printf(sh, "ls: cannot access '%s': No such file or directory\n", target);
		return;
	case 'f':
		if (lng)
			sh_printf(sh, "%s 1 %-8s %-8s %6zu Jan 12  2024 %s\n", n->mode, n->owner,
			    n->owner, n->content != NULL ? strlen(n->content) : 64, target);
		else
			sh_printf(sh, "%s\n", target);
		return;
	}
	if (lng)
		sh_printf(sh, "total 8\n");
	if (lng && all)
		sh_printf(sh, "drwxr-xr-x 2 root     root       4096 Jan 12  2024 .\n"
		    "drwxr-xr-x 2 root     root       4096 Jan 12  2024 ..\n");
	pl = strcmp(path, "/") == 0 ? 0 : strlen(path);
	for (i = 1; i < SH_NTREE; i++) {
		n = &sh_tree[i];
		if (strncmp(n->path, path, pl) != 0 || n->path[pl] != '/' ||
		    strchr(n->path + pl + 1, '/') != NULL)
			continue;
		base = n->path + pl + 1;
		if (base[0] == '.' && !all)
			continue;
		if (lng)
			sh_printf(sh, "%s %d %-8s %-8s %6zu Jan 12  2024 %s\n", n->mode,
			    n->type == 'd' ? 2 : 1, n->owner, n->owner, n->type == 'd' ? 4096 :
			    n->content != NULL ? strlen(n->content) : 64, base);
		else
			sh_printf(sh, "%s%s", col++ > 0 ? "  " : "", base);
	}
	if (!lng && col > 0)
		sh_out(sh, "\n");
}

static void
cmd_cd(struct dd_shell *sh, int argc, char **argv)
{
	char path[SH_PATH];
	const struct sh_node *n;
	char t;

	sh_resolve(sh, argc > 1 ? argv[1] : "~", path, sizeof(path));
	if ((t = sh_lookup(sh, path, &n)) == 'd')
		snprintf(sh->cwd, sizeof(sh->cwd), "%s", path);
	else
		sh_printf(sh, "-bash: cd: %s: %s\n", argv[1], t == 0 ?
		    "No such file or directory" : "Not a directory");
}

static void
cmd_pwd(struct dd_shell *sh, int argc, char **argv)
{
	sh_printf(sh, "%s\n", sh->cwd);
}

static void
cmd_cat(struct dd_shell *sh, int argc, char **argv)
{
	char path[SH_PATH];
	const struct sh_node *n;
	int i;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		sh_resolve(sh, argv[i], path, sizeof(path));
		switch (sh_lookup(sh, path, &n)) {
		case 0:
			sh_printf(sh, "cat: %s: No such file or directory\n", argv[i]);
			break;
		case 'd':
			sh_printf(sh, "cat: %s: Is a directory\n", argv[i]);
			break;
		default:
			if (n->content != NULL)
				sh_out(sh, n->content);
			else
				sh_generated(sh, path);
		}
	}
}

static void
cmd_echo(struct dd_shell *sh, int argc, char **argv)
{
	int i = 1, nl = 1;

	if (argc > 1 && strcmp(argv[1], "-n") == 0)
		nl = 0, i++;
	for (; i < argc; i++)
		sh_printf(sh, "%s%s", argv[i], i + 1 < argc ? " " : "");
	if (nl)
		sh_out(sh, "\n");
}

/* hostname(1): the short name; -f the subscriber's FQDN; -d its domain. */
static void
cmd_hostname(struct dd_shell *sh, int argc, char **argv)
{
	const char *host = sh->s->conf->d.hostname, *fqdn = sh->s->fqdn;
	size_t hl = strlen(host);

	if (argc > 1 && (strcmp(argv[1], "-f") == 0 || strcmp(argv[1], "--fqdn") == 0))
		sh_printf(sh, "%s\n", fqdn);
	else if (argc > 1 && (strcmp(argv[1], "-d") == 0 || strcmp(argv[1], "--domain") == 0))
		sh_printf(sh, "%s\n", strncmp(fqdn, host, hl) == 0 && fqdn[hl] == '.' ?
		    fqdn + hl + 1 : "");
	else if (argc > 1)
		sh_out(sh, "hostname: you must be root to change the host name\n");
	else
		sh_printf(sh, "%s\n", host);
}

static void
cmd_uname(struct dd_shell *sh, int argc, char **argv)
{
	const struct decoyd_conf *d = &sh->s->conf->d;
	const char *o = argc > 1 ? argv[1] : "-s";

	if (strchr(o, 'a') != NULL)
		sh_printf(sh, "Linux %s %s %s x86_64 GNU/Linux\n", d->hostname, d->kernel,
		    d->kernel_version);
	else if (strcmp(o, "-r") == 0)
		sh_printf(sh, "%s\n", d->kernel);
	else if (strcmp(o, "-n") == 0)
		sh_printf(sh, "%s\n", d->hostname);
	else if (strcmp(o, "-m") == 0 || strcmp(o, "-p") == 0 || strcmp(o, "-i") == 0)
		sh_out(sh, "x86_64\n");
	else if (strcmp(o, "-v") == 0)
		sh_printf(sh, "%s\n", d->kernel_version);
	else
		sh_out(sh, "Linux\n");
}

static void
cmd_id(struct dd_shell *sh, int argc, char **argv)
{
	if (strcmp(sh->user, "root") == 0)
		sh_out(sh, "uid=0(root) gid=0(root) groups=0(root)\n");
	else
		sh_printf(sh, "uid=1000(%s) gid=1000(%s) groups=1000(%s),24(cdrom),27(sudo),"
		    "100(users)\n", sh->user, sh->user, sh->user);
}

static void
cmd_whoami(struct dd_shell *sh, int argc, char **argv)
{
	sh_printf(sh, "%s\n", sh->user);
}

static void
cmd_ps(struct dd_shell *sh, int argc, char **argv)
{
	if (argc > 1 && (strchr(argv[1], 'a') != NULL || strchr(argv[1], 'e') != NULL))
		sh_printf(sh, "USER         PID %%CPU %%MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n"
		    "root           1  0.0  0.3 167764 12236 ?        Ss   Jan12   0:41 /sbin/init\n"
		    "root         312  0.0  0.4  48344 16656 ?        Ss   Jan12   0:12 /lib/systemd/systemd-journald\n"
		    "root         587  0.0  0.1   6608  2644 ?        Ss   Jan12   0:02 /usr/sbin/cron -f\n"
		    "root         602  0.0  0.2  15432  9216 ?        Ss   Jan12   0:00 sshd: /usr/sbin/sshd -D\n"
		    "root         640  0.0  0.0  10356  1484 ?        Ss   Jan12   0:00 nginx: master process /usr/sbin/nginx\n"
		    "www-data     641  0.0  0.1  10928  5124 ?        S    Jan12   0:07 nginx: worker process\n"
		    "root        1203  0.0  0.0   2480   520 ?        Ss   Jan12   0:00 /usr/sbin/inetd\n"
		    "%-8s    2412  0.0  0.1   8604  5316 pts/0    Ss   11:02   0:00 -bash\n"
		    "%-8s    2431  0.0  0.0  11084  4400 pts/0    R+   11:02   0:00 ps %s\n",
		    sh->user, sh->user, argv[1]);
	else
		sh_out(sh, "    PID TTY          TIME CMD\n   2412 pts/0    00:00:00 bash\n"
		    "   2431 pts/0    00:00:00 ps\n");
}

static void
cmd_ifconfig(struct dd_shell *sh, int argc, char **argv)
{
	sh_out(sh, "eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n"
	    "        inet 10.20.0.23  netmask 255.255.255.0  broadcast 10.20.0.255\n"
	    "        ether 52:54:00:3a:7c:11  txqueuelen 1000  (Ethernet)\n"
	    "        RX packets 18234511  bytes 9120344021 (8.4 GiB)\n"
	    "        TX packets 12044398  bytes 2093121877 (1.9 GiB)\n\n"
	    "lo: flags=73<UP,LOOPBACK,RUNNING>  mtu 65536\n"
	    "        inet 127.0.0.1  netmask 255.0.0.0\n"
	    "        loop  txqueuelen 1000  (Local Loopback)\n\n");
}

static void
cmd_ip(struct dd_shell *sh, int argc, char **argv)
{
	if (argc > 1 && (argv[1][0] == 'a' || strcmp(argv[1], "-4") == 0))
		sh_out(sh, "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n"
		    "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
		    "    inet 127.0.0.1/8 scope host lo\n"
		    "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000\n"
		    "    link/ether 52:54:00:3a:7c:11 brd ff:ff:ff:ff:ff:ff\n"
		    "    inet 10.20.0.23/24 brd 10.20.0.255 scope global eth0\n");
	else if (argc > 1 && argv[1][0] == 'r')
		sh_out(sh, "default via 10.20.0.1 dev eth0 onlink\n"
		    "10.20.0.0/24 dev eth0 proto kernel scope link src 10.20.0.23\n");
	else
		sh_out(sh, "Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n");
}

/* The host of a URL, for the resolver's answer. */
static void
sh_urlhost(const char *url, char *host, size_t cap)
{
	const char *p = strstr(url, "://"), *e;

	p = p != NULL ? p + 3 : url;
	for (e = p; *e != '\0' && *e != '/' && *e != ':' && *e != '?'; e++)
		;
	snprintf(host, cap, "%.*s", (int)(e - p), p);
}

/* The first argument that is no option (skipping the values of the options
 * in valopts). */
static const char *
sh_operand(int argc, char **argv, const char *valopts)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			if (argv[i][2] == '\0' && strchr(valopts, argv[i][1]) != NULL)
				i++;
			continue;
		}
		return argv[i];
	}
	return NULL;
}

static void
cmd_wget(struct dd_shell *sh, int argc, char **argv)
{
	const char *url = sh_operand(argc, argv, "OoPtTeU");
	char host[256], ts[32];
	time_t now = time(NULL);
	struct tm tm;

	if (url == NULL) {
		sh_out(sh, "wget: missing URL\nUsage: wget [OPTION]... [URL]...\n\n"
		    "Try `wget --help' for more options.\n");
		return;
	}
	rec_download(sh->s, "wget", url);
	sh_urlhost(url, host, sizeof(host));
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	sh_printf(sh, "--%s--  %s\nResolving %s (%s)... failed: Temporary failure in name "
	    "resolution.\nwget: unable to resolve host address \xe2\x80\x98%s\xe2\x80\x99\n",
	    ts, url, host, host, host);
}

static void
cmd_curl(struct dd_shell *sh, int argc, char **argv)
{
	const char *url = sh_operand(argc, argv, "oOXHdAeuTrmw");
	char host[256];

	if (url == NULL) {
		sh_out(sh, "curl: try 'curl --help' or 'curl --manual' for more information\n");
		return;
	}
	rec_download(sh->s, "curl", url);
	sh_urlhost(url, host, sizeof(host));
	sh_printf(sh, "curl: (6) Could not resolve host: %s\n", host);
}

static void
cmd_tftp(struct dd_shell *sh, int argc, char **argv)
{
	const char *file = NULL, *host = NULL;
	char url[1024];
	int i;

	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-r") == 0 || strcmp(argv[i], "-l") == 0) && i + 1 < argc) {
			if (argv[i][1] == 'r')
				file = argv[i + 1];
			i++;
		} else if (argv[i][0] != '-' && host == NULL) {
			host = argv[i];
		}
	}
	if (host == NULL) {
		sh_out(sh, "usage: tftp [-h] [-c command] [-l] [-m mode] [-v] [-V] [-R port:port] "
		    "[host [port]] [-c command]\n");
		return;
	}
	snprintf(url, sizeof(url), "tftp://%s/%s", host, file != NULL ? file : "");
	rec_download(sh->s, "tftp", url);
	sh_out(sh, "Transfer timed out.\n\n");
}

static void
cmd_chmod(struct dd_shell *sh, int argc, char **argv)
{
	char path[SH_PATH];
	const struct sh_node *n;
	int i;

	if (argc < 3) {
		sh_out(sh, "chmod: missing operand\nTry 'chmod --help' for more information.\n");
		return;
	}
	for (i = 2; i < argc; i++) {
		sh_resolve(sh, argv[i], path, sizeof(path));
		if (sh_lookup(sh, path, &n) == 0)
			sh_printf(sh, "chmod: cannot access '%s': No such file or directory\n", argv[i]);
		else if (n != NULL && strcmp(n->owner, sh->user) != 0 && strcmp(sh->user, "root") != 0)
			sh_printf(sh, "chmod: changing permissions of '%s': Operation not permitted\n",
			    argv[i]);
	}
}

static void
cmd_history(struct dd_shell *sh, int argc, char **argv)
{
	unsigned i = sh->nhist > SH_HISTORY ? sh->nhist - SH_HISTORY : 0;

	for (; i < sh->nhist; i++)
		sh_printf(sh, "%5u  %s\n", i + 1, sh->hist[i % SH_HISTORY]);
}

static const struct { const char *name; sh_cmd_fn *fn; } sh_cmds[] = {
	{ "ls", cmd_ls }, { "dir", cmd_ls }, { "cd", cmd_cd }, { "pwd", cmd_pwd },
	{ "cat", cmd_cat }, { "echo", cmd_echo }, { "uname", cmd_uname },
	{ "hostname", cmd_hostname }, { "id", cmd_id },
	{ "whoami", cmd_whoami }, { "ps", cmd_ps }, { "ifconfig", cmd_ifconfig },
	{ "ip", cmd_ip }, { "wget", cmd_wget }, { "curl", cmd_curl }, { "tftp", cmd_tftp },
	{ "chmod", cmd_chmod }, { "history", cmd_history },
};

/* Splits a simple command into words (quotes removed, no expansion).
 * Modifies cmd.  Returns argc. */
static int
sh_words(char *cmd, char **argv)
{
	char *r = cmd, *w = cmd, q = 0;
	int argc = 0, inword = 0;

	for (; *r != '\0'; r++) {
		if (q != 0) {
			if (*r == q)
				q = 0;
			else
				*w++ = *r;
			continue;
		}
		if (*r == ' ' || *r == '\t') {
			if (inword) {
				*w++ = '\0';
				inword = 0;
			}
			continue;
		}
		if (!inword) {
			if (argc == SH_ARGS - 1)
				break;
			argv[argc++] = w;
			inword = 1;
		}
		if (*r == '\'' || *r == '"')
			q = *r;
		else if (*r == '\\' && r[1] != '\0')
			*w++ = *++r;
		else
			*w++ = *r;
	}
	*w = '\0';
	argv[argc] = NULL;
	return argc;
}

/* One simple command; 1 when the shell exits. */
static int
sh_run(struct dd_shell *sh, char *cmd)
{
	char *argv[SH_ARGS];
	const char *base;
	size_t i;
	int argc;

	if ((argc = sh_words(cmd, argv)) == 0)
		return 0;
	if (strcmp(argv[0], "exit") == 0 || strcmp(argv[0], "logout") == 0) {
		sh_out(sh, "logout\n");
		return 1;
	}
	if (strcmp(argv[0], "sudo") == 0 && argc > 1) {
		sh_printf(sh, "[sudo] password for %s: \nSorry, try again.\n", sh->user);
		return 0;
	}
	base = strrchr(argv[0], '/') != NULL && argv[0][0] == '/' ?
	    strrchr(argv[0], '/') + 1 : argv[0];
	for (i = 0; i < sizeof(sh_cmds) / sizeof(sh_cmds[0]); i++)
		if (strcmp(base, sh_cmds[i].name) == 0) {
			sh_cmds[i].fn(sh, argc, argv);
			return 0;
		}
	if (strchr(argv[0], '/') != NULL)
		sh_printf(sh, "-bash: %s: No such file or directory\n", argv[0]);
	else
		sh_printf(sh, "-bash: %s: command not found\n", argv[0]);
	return 0;
}

/* Runs stages[0] with its output captured, the filters (decoyd_pipe.c)
 * over it, and prints the result; one stage runs as it is.  Returns
 * sh_run's result (1: exit). */
static int
sh_pipeline(struct dd_shell *sh, char **stages, size_t n)
{
	char *argv[SH_ARGS], *out;
	size_t i, outlen;
	int rc, argc, r;

	if (n <= 1)
		return n == 1 ? sh_run(sh, stages[0]) : 0;
	sh->capturing = 1;
	sh->pipe_len = 0;
	rc = sh_run(sh, stages[0]);
	sh->capturing = 0;
	for (i = 1; i < n && rc == 0; i++) {
		if ((argc = sh_words(stages[i], argv)) == 0) {
			sh_out(sh, "-bash: syntax error near unexpected token `|'\n");
			return 0;
		}
		argv[argc] = NULL;
		r = pipe_filter(argc, argv, sh->pipe != NULL ? sh->pipe : "", sh->pipe_len, &out,
		    &outlen);
		if (r == PIPE_UNKNOWN) {
			sh_printf(sh, "-bash: %s: command not found\n", argv[0]);
			return 0;
		}
		if (r != 0)
			return 0;
		sh->pipe_len = 0;
		sh->capturing = 1;
		out[outlen] = '\0';
		sh_out(sh, out);
		sh->capturing = 0;
		free(out);
	}
	if (sh->pipe_len > 0 && (out = strndup(sh->pipe, sh->pipe_len)) != NULL) {
		sh_out(sh, out);
		free(out);
	}
	return rc;
}

int
shell_line(struct dd_shell *sh, const char *line)
{
	char *copy, *p, *start, *stages[SH_STAGES];
	size_t nst;
	size_t len = strlen(line);
	int rc = 0;

	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return 0;
	rec_command(sh->s, line);
	free(sh->hist[sh->nhist % SH_HISTORY]);
	sh->hist[sh->nhist % SH_HISTORY] = strndup(line, len > 512 ? 512 : len);
	sh->nhist++;
	if ((copy = strndup(line, len)) == NULL)
		return 0;
	/* Lists: ; && || & run each pipeline in turn (no job control, no
	 * conditions); a pipeline's stages are split at a lone '|'. */
	for (p = start = copy, nst = 0; rc == 0; p++) {
		if (*p == ';' || *p == '|' || *p == '&' || *p == '\0') {
			char end = *p;
			int piped = end == '|' && p[1] != '|';

			*p = '\0';
			if (nst < SH_STAGES)
				stages[nst++] = start;
			if (!piped) {
				rc = sh_pipeline(sh, stages, nst);
				nst = 0;
			}
			if (end == '\0')
				break;
			if ((end == '|' || end == '&') && p[1] == end)
				p++;
			start = p + 1;
		}
	}
	free(copy);
	return rc;
}

/* ---------------------------------------------------------- other personalities */

/* One entry as others see it: n NULL is the user's (virtual) home. */
static void
fs_entry(const struct sh_node *n, const char *path, struct shell_entry *e, char *link,
    size_t linkcap)
{
	const char *base = strrchr(path, '/');

	memset(e, 0, sizeof(*e));
	e->name = base != NULL && base[1] != '\0' ? base + 1 : path;
	e->type = n != NULL ? n->type : 'd';
	e->mode = n != NULL ? n->mode : "drwxr-xr-x";
	e->owner = n != NULL ? n->owner : NULL;
	if (n != NULL && n->mode[0] == 'l') {
		/* Debian 12's merged /usr: /bin -> usr/bin. */
		snprintf(link, linkcap, "usr/%s", e->name);
		e->link = link;
		e->size = strlen(link);
	} else if (e->type == 'd') {
		e->size = 4096;
	} else {
		e->size = n->content != NULL ? strlen(n->content) : 64;
	}
}

char
shell_fs_stat(const char *home, const char *cwd, const char *arg, char *path, size_t cap,
    struct shell_entry *e)
{
	static char link[SH_PATH];
	const struct sh_node *n;
	char t;

	fs_resolve(home, cwd, arg, path, cap);
	t = fs_lookup(home, path, &n);
	if (t != 0 && e != NULL)
		fs_entry(n, path, e, link, sizeof(link));
	return t;
}

int
shell_fs_list(const char *home, const char *path, shell_fs_fn *fn, void *arg)
{
	struct shell_entry e;
	char link[SH_PATH];
	size_t i, pl = strcmp(path, "/") == 0 ? 0 : strlen(path);
	int count = 0;

	for (i = 1; i < SH_NTREE; i++) {
		const struct sh_node *n = &sh_tree[i];

		if (strncmp(n->path, path, pl) != 0 || n->path[pl] != '/' ||
		    strchr(n->path + pl + 1, '/') != NULL)
			continue;
		fs_entry(n, n->path, &e, link, sizeof(link));
		fn(arg, &e);
		count++;
	}
	return count;
}
