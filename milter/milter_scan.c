/*
 * milter_scan - the libclamav scan of a message: verdict + classification.
 *
 * Two ways through, one result.  By default (milter.mime_walk) the message
 * is scanned as one raw pass with libclamav's mail parsing off (signatures
 * that target mail files, and every byte outside the MIME leaves) and then
 * leaf by leaf: milter_parts.c decodes each MIME leaf in memory and each is
 * scanned as a file (cl_scanmap_callback), so libclamav still opens the
 * archives, documents, executables and mail inside them, but never writes
 * the message's parts to temporary files.  A message whose structure the
 * walker will not read (see milter_parts.c), or with mime_walk off, is
 * scanned whole with libclamav's own mail parser, as clamd would.
 *
 * The same scans classify the content: a file inspection callback
 * registered on the engine sees every file libclamav looks at with its
 * detected type and, where the container records one, its name; a VBA
 * callback sees every macro project libclamav extracts.  Both write into a
 * struct scan_ctx passed as the scan's context, so concurrent scans never
 * share state.
 *
 * The policy's scan_mode is applied after the pass:
 *   all                 the verdict stands;
 *   executables         no executable content found -> "unscanned (no
 *                       executable content)", the mail passes with that
 *                       status header;
 *   macros              likewise for macro documents;
 *   executables_macros  either;
 *   none                never comes here (no scan at all).
 * A detection is always acted on, whatever the mode: knowing a message is
 * infected and passing it would make the mode a hole, and the scan has
 * already been paid for.  Clean mail (the common case) is scanned in
 * memory (a large message spooled to a file is mapped).
 *
 * The engine runs without libclamav's clean-file cache (milter_engine.c):
 * with it, a second message carrying the same archive would skip the
 * archive's members and their classification.
 *
 * Alerts named Heuristics.Encrypted.* and Heuristics.Limits.Exceeded.*, and
 * libclamav's limit errors, make the message "unscannable" (the policy's
 * on_unscannable); other errors are "error" (on_error).  Limits are never
 * silent: CL_SCAN_HEURISTIC_EXCEEDS_MAX is always on.  The policy's
 * heuristics flag adds macro, encrypted archive/document and broken
 * executable alerts.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <clamav.h>

#include "log.h"
#include "milter.h"
#include "milter_parts.h"

struct scan_ctx {
	int   exec, macros;
	char  exec_name[128];
};

/* File types libclamav detects by content that run code on the recipient's
 * machine (self-extracting archives are programs). */
static const char *const exec_types[] = {
	"CL_TYPE_MSEXE", "CL_TYPE_ELF", "CL_TYPE_MACHO", "CL_TYPE_MACHO_UNIBIN",
	"CL_TYPE_JAVA", "CL_TYPE_LNK", "CL_TYPE_SCRENC", "CL_TYPE_AUTOIT",
	"CL_TYPE_NULSFT", "CL_TYPE_ISHIELD_MSI", "CL_TYPE_PYTHON_COMPILED",
	"CL_TYPE_SFX", "CL_TYPE_ZIPSFX", "CL_TYPE_RARSFX", "CL_TYPE_ARJSFX",
	"CL_TYPE_CABSFX", "CL_TYPE_7ZSFX", "CL_TYPE_EGGSFX",
	NULL
};

/* Names Windows (and friends) run or install on a double click. */
static const char *const exec_exts[] = {
	"exe", "com", "scr", "pif", "bat", "cmd", "js", "jse", "vbs", "vbe",
	"wsf", "wsh", "jar", "ps1", "psm1", "msi", "msp", "dll", "cpl", "hta",
	"lnk", "reg", "sys", "ocx", "application", "gadget", "msc", "inf",
	"sh", "run", "app", "apk", "elf", "bin", "iso", "img", "vhd", "vhdx",
	NULL
};

/* Macro-enabled Office formats; OLE2 formats are found by the VBA callback. */
static const char *const macro_exts[] = {
	"docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppam", "ppsm",
	"sldm", "xlsb", NULL
};

static int
in_list(const char *const list[], const char *s)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcasecmp(list[i], s) == 0)
			return 1;
	return 0;
}

int
scan_type_executable(const char *cltype)
{
	return cltype != NULL && in_list(exec_types, cltype);
}

/* The extension of the last path component, or NULL. */
static const char *
name_ext(const char *name)
{
	const char *base, *dot;

	if (name == NULL)
		return NULL;
	base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if ((dot = strrchr(base, '.')) == NULL || dot[1] == '\0')
		return NULL;
	return dot + 1;
}

int
scan_name_executable(const char *name)
{
	const char *ext = name_ext(name);

	return ext != NULL && in_list(exec_exts, ext);
}

int
scan_name_macro(const char *name)
{
	const char *ext = name_ext(name), *base;

	if (name == NULL)
		return 0;
	base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if (strcasecmp(base, "vbaProject.bin") == 0)
		return 1;
	return ext != NULL && in_list(macro_exts, ext);
}

int
scan_alert_unscannable(const char *virname)
{
	return virname != NULL &&
	    (strncmp(virname, "Heuristics.Encrypted.", 21) == 0 ||
	     strncmp(virname, "Heuristics.Limits.Exceeded", 26) == 0);
}

static cl_error_t
scan_inspect(int fd, const char *type, const char **ancestors, size_t parent_size,
    const char *file_name, size_t file_size, const char *file_buffer,
    uint32_t level, uint32_t attrs, void *context)
{
	struct scan_ctx *sc = context;

	if (sc == NULL)
		return CL_CLEAN;
	if (!sc->exec && (scan_type_executable(type) || scan_name_executable(file_name))) {
		sc->exec = 1;
		snprintf(sc->exec_name, sizeof(sc->exec_name), "%s%s%s",
		    file_name ? file_name : "", file_name ? " " : "", type ? type : "");
	}
	if (!sc->macros && scan_name_macro(file_name))
		sc->macros = 1;
	return CL_CLEAN;
}

static int
scan_vba(const unsigned char *const data, const size_t len, void *context)
{
	struct scan_ctx *sc = context;

	if (sc != NULL)
		sc->macros = 1;
	return 0;
}

void
scan_engine_setup(struct cl_engine *cl)
{
	cl_engine_set_clcb_file_inspection(cl, scan_inspect);
	cl_engine_set_clcb_vba(cl, scan_vba);
}

void
scan_settings(const struct engine *en, const struct policy *pol, struct scanopts *so)
{
	*so = en->en_so;
	so->heuristics = pol->heuristics;
	so->scan_mode = pol->scan_mode;
	so->max_scan_bytes = pol->max_scan_bytes;
}

/* Maps one libclamav result into res. */
static void
scan_map(cl_error_t rc, const char *virname, struct scan_result *res)
{
	switch (rc) {
	case CL_CLEAN:
		res->verdict = VERDICT_CLEAN;
		break;
	case CL_VIRUS:
		if (scan_alert_unscannable(virname)) {
			res->verdict = VERDICT_UNSCANNABLE;
			snprintf(res->reason, sizeof(res->reason), "%s", virname);
		} else {
			res->verdict = VERDICT_INFECTED;
			snprintf(res->virus, sizeof(res->virus), "%s", virname ? virname : "unknown");
		}
		break;
	case CL_EMAXREC:
	case CL_EMAXSIZE:
	case CL_EMAXFILES:
	case CL_ETIMEOUT:
		res->verdict = VERDICT_UNSCANNABLE;
		snprintf(res->reason, sizeof(res->reason), "limits: %s", cl_strerror(rc));
		break;
	default:
		res->verdict = VERDICT_ERROR;
		snprintf(res->reason, sizeof(res->reason), "scan error: %s", cl_strerror(rc));
		break;
	}
}

/* One libclamav scan of data[0..len) as a file named name (or NULL) into
 * r. */
static void
scan_mem(struct engine *en, const void *data, size_t len, const char *name,
    struct cl_scan_options *opts, struct scan_ctx *sc, struct scan_result *r)
{
	const char *virname = NULL;
	unsigned long n = 0;     /* libclamav's count, which nobody reads */
	cl_fmap_t *map;
	cl_error_t rc;

	memset(r, 0, sizeof(*r));
	if ((map = cl_fmap_open_memory(len ? data : "", len)) == NULL) {
		r->verdict = VERDICT_ERROR;
		snprintf(r->reason, sizeof(r->reason), "scan error: cannot map %s",
		    name ? name : "the message");
		return;
	}
	rc = cl_scanmap_callback(map, name, &virname, &n, en->en_cl, opts, sc);
	cl_fmap_close(map);
	scan_map(rc, virname, r);
}

/* Keeps the worse of an unscannable outcome and a scan error while the
 * other leaves are scanned: a virus among them decides the message. */
static void
hold(struct scan_result *held, const struct scan_result *r)
{
	if (held->verdict == VERDICT_CLEAN ||
	    (held->verdict == VERDICT_UNSCANNABLE && r->verdict == VERDICT_ERROR))
		*held = *r;
}

/* The state of a walked scan; res is the infected verdict or the held one. */
struct leaf_scan {
	struct engine           *en;
	struct cl_scan_options  *opts;
	struct scan_ctx         *sc;
	struct scan_result      *res;
};

/* parts_fn: one leaf; a detection ends the walk. */
static int
scan_leaf(void *arg, const unsigned char *data, size_t len, const char *name)
{
	struct leaf_scan *ls = arg;
	struct scan_result r;

	scan_mem(ls->en, data, len, name, ls->opts, ls->sc, &r);
	if (r.verdict == VERDICT_INFECTED) {
		*ls->res = r;
		return 1;
	}
	if (r.verdict != VERDICT_CLEAN)
		hold(ls->res, &r);
	return 0;
}

/* The walked scan (milter_parts.c) of msg[0..len): one raw pass with mail
 * parsing off (signatures that target mail files, and every byte outside
 * the leaves), then each decoded leaf.  Returns 0 with res set, or
 * PARTS_FALLBACK when the message must go to libclamav's mail parser. */
static int
scan_walked(struct engine *en, const char *msg, size_t len, struct cl_scan_options *opts,
    struct scan_ctx *sc, struct scan_result *res)
{
	struct cl_scan_options raw = *opts;
	struct leaf_scan ls = { .en = en, .opts = opts, .sc = sc, .res = res };
	int rc;

	raw.parse &= ~CL_SCAN_PARSE_MAIL;
	scan_mem(en, msg, len, NULL, &raw, sc, res);    /* the verdict, or held */
	if (res->verdict == VERDICT_INFECTED)
		return 0;
	if ((rc = parts_walk(msg, len, scan_leaf, &ls)) == PARTS_FALLBACK)
		return rc;
	if (rc == -1) {
		res->verdict = VERDICT_ERROR;
		snprintf(res->reason, sizeof(res->reason), "scan error: out of memory");
	}
	return 0;       /* rc > 0: a leaf was infected, res holds it */
}

int
scan_message(struct engine *en, struct msgbuf *sp, const struct policy *pol,
    struct scan_result *res)
{
	struct scan_ctx sc;
	struct cl_scan_options opts;
	struct scanopts so;
	const char *msg;
	size_t len;
	void *map = NULL;
	int want_exec, want_macros, walked;

	memset(res, 0, sizeof(*res));
	memset(&sc, 0, sizeof(sc));
	if (sp->mb_failed) {
		res->verdict = VERDICT_ERROR;
		snprintf(res->reason, sizeof(res->reason), "message spool failed");
		return 0;
	}
	if ((int64_t)sp->mb_total > pol->max_scan_bytes) {
		res->verdict = VERDICT_UNSCANNABLE;
		snprintf(res->reason, sizeof(res->reason), "over size limit (%zu > %lld bytes)",
		    sp->mb_total, (long long)pol->max_scan_bytes);
		return 0;
	}
	/* The message in memory: the spool's buffer, or its file mapped. */
	if (sp->mb_fd == -1) {
		msg = sp->mb_mem ? sp->mb_mem : "";
		len = sp->mb_len;
	} else if ((len = sp->mb_total) == 0) {
		msg = "";
	} else if ((map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, sp->mb_fd, 0)) == MAP_FAILED) {
		res->verdict = VERDICT_ERROR;
		snprintf(res->reason, sizeof(res->reason), "scan error: cannot map the spool file");
		return 0;
	} else {
		msg = map;
	}
	scan_settings(en, pol, &so);
	scanopts_cl_options(&so, &opts);
	walked = so.mime_walk;
	if (walked && scan_walked(en, msg, len, &opts, &sc, res) == PARTS_FALLBACK) {
		/* Start again from nothing: libclamav reads it all. */
		walked = 0;
		memset(&sc, 0, sizeof(sc));
	}
	if (!walked)
		scan_mem(en, msg, len, NULL, &opts, &sc, res);
	if (map != NULL)
		munmap(map, len);
	res->walked = walked;
	res->exec = sc.exec;
	res->macros = sc.macros;
	snprintf(res->exec_name, sizeof(res->exec_name), "%s", sc.exec_name);

	if (res->verdict != VERDICT_CLEAN)
		return 0;
	want_exec = pol->scan_mode == SCAN_EXECUTABLES || pol->scan_mode == SCAN_EXEC_MACROS;
	want_macros = pol->scan_mode == SCAN_MACROS || pol->scan_mode == SCAN_EXEC_MACROS;
	if ((want_exec || want_macros) && !(want_exec && sc.exec) && !(want_macros && sc.macros)) {
		res->verdict = VERDICT_UNSCANNED;
		snprintf(res->reason, sizeof(res->reason), "no %s content",
		    pol->scan_mode == SCAN_EXECUTABLES ? "executable" :
		    pol->scan_mode == SCAN_MACROS ? "macro" : "executable or macro");
	}
	return 0;
}

int
scan_buffer(struct engine *en, const void *data, size_t len, const char *filename,
    int heuristics, char **virus)
{
	struct scan_ctx sc;
	struct cl_scan_options opts;
	struct scanopts so;
	struct scan_result r;

	memset(&sc, 0, sizeof(sc));
	*virus = NULL;
	so = en->en_so;
	so.heuristics = heuristics;
	scanopts_cl_options(&so, &opts);
	scan_mem(en, data, len, filename, &opts, &sc, &r);
	switch (r.verdict) {
	case VERDICT_CLEAN:
		return 0;
	case VERDICT_INFECTED:
		return (*virus = strdup(r.virus)) == NULL ? -1 : 1;
	case VERDICT_UNSCANNABLE:
		/* A part we cannot see into is removed like an infected one. */
		return (*virus = strdup(r.reason)) == NULL ? -1 : 1;
	default:
		return -1;
	}
}
