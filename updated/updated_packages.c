/* The published client packages (see updated_packages.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "updated_packages.h"

static const char *const packages_platforms[] = { "debian", "rpm", "windows", NULL };

int
packages_platform_ok(const char *platform)
{
	for (size_t i = 0; packages_platforms[i] != NULL; i++)
		if (strcmp(platform, packages_platforms[i]) == 0)
			return 1;
	return 0;
}

int
packages_file_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > PKG_FILE_MAX || name[0] == '.')
		return 0;
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._+~-", *p) != NULL))
			return 0;
	return 1;
}

/* One row into p: 0, or -1 when a column does not fit (an operator's
 * oversized text is not served rather than cut). */
static int
packages_row(sqlite3_stmt *stmt, struct pkg *p)
{
	const char *t[5];
	size_t cap[5] = { sizeof(p->platform), sizeof(p->name), sizeof(p->version),
	    sizeof(p->file), sizeof(p->sha256) };
	char *dst[5] = { p->platform, p->name, p->version, p->file, p->sha256 };

	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(stmt, 0);
	for (int i = 0; i < 5; i++) {
		t[i] = (const char *)sqlite3_column_text(stmt, i + 1);
		if (t[i] == NULL || strlen(t[i]) >= cap[i])
			return -1;
		memcpy(dst[i], t[i], strlen(t[i]) + 1);
	}
	p->size = (uint64_t)sqlite3_column_int64(stmt, 6);
	p->published = sqlite3_column_int64(stmt, 7);
	return packages_file_ok(p->file) && packages_platform_ok(p->platform) ? 0 : -1;
}

#define PACKAGES_COLS "id, platform, name, version, path, sha256, size, published"

int
packages_current(struct store *st, struct pkg **out, size_t *n)
{
	static const char sql[] =
	    "SELECT " PACKAGES_COLS " FROM av_packages a"
	    " WHERE id = (SELECT id FROM av_packages b WHERE b.platform = a.platform"
	    "             ORDER BY published DESC, id DESC LIMIT 1)"
	    " ORDER BY platform";
	sqlite3_stmt *stmt = store_prepare(st, sql);
	struct pkg *v = NULL, *nv;
	size_t cnt = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (stmt == NULL)
		return -1;
	while ((r = store_step(st, stmt, "packages")) == STORE_STEP_ROW) {
		if ((nv = realloc(v, (cnt + 1) * sizeof(*v))) == NULL) {
			r = -1;
			break;
		}
		v = nv;
		if (packages_row(stmt, &v[cnt]) == 0)
			cnt++;
	}
	sqlite3_reset(stmt);
	if (r != STORE_STEP_DONE) {
		free(v);
		return -1;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int
packages_for(struct store *st, const char *platform, struct pkg *out)
{
	static const char sql[] =
	    "SELECT " PACKAGES_COLS " FROM av_packages WHERE platform = ?1"
	    " ORDER BY published DESC, id DESC LIMIT 1";
	sqlite3_stmt *stmt = store_prepare(st, sql);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, platform, -1, SQLITE_STATIC);
	switch (store_step(st, stmt, "package")) {
	case STORE_STEP_ROW:
		rc = packages_row(stmt, out) == 0 ? 1 : 0;
		break;
	case STORE_STEP_DONE:
		rc = 0;
		break;
	default:
		rc = -1;
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return rc;
}
