/*
 * secmgr_forensic_stub - stands in for common/forensic.c (another helper's
 * work, issue 12) until it is merged: the same API (common/forensic.h), a
 * plain append-only file of JSON lines, each fdatasync'd before
 * forensic_append returns 0, so fail-closed behaves the same.  NO hash chain
 * and NO checkpoints: not tamper-evident.  CMake builds it only when
 * common/forensic.c is absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forensic.h"
#include "log.h"

struct forensic {
	int  fd;
	char err[256];
};

struct forensic *
forensic_open(const char *path, const char *key_path, unsigned every, char *err,
    size_t errlen)
{
	struct forensic *f;

	(void)key_path;
	(void)every;
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((f->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(f);
		return NULL;
	}
	log_warnx("forensic log %s: built without common/forensic.c: records are not "
	    "chained or signed", path);
	return f;
}

int
forensic_append(struct forensic *f, const char *type, int64_t event_id, const char *json)
{
	char *line = NULL;
	size_t len = 0;
	FILE *fp;
	ssize_t w;

	if ((fp = open_memstream(&line, &len)) == NULL)
		goto fail;
	fprintf(fp, "{\"type\":\"%s\",\"event\":%" PRId64 ",\"record\":%s}\n", type, event_id,
	    json);
	if (fclose(fp) == EOF)
		goto fail;
	if ((w = write(f->fd, line, len)) != (ssize_t)len || fdatasync(f->fd) == -1)
		goto fail;
	free(line);
	f->err[0] = '\0';
	return 0;
fail:
	snprintf(f->err, sizeof(f->err), "append failed: %s", strerror(errno ? errno : EIO));
	free(line);
	log_warnx("forensic log: %s", f->err);
	return -1;
}

const char *
forensic_error(const struct forensic *f)
{
	return f->err;
}

void
forensic_close(struct forensic *f)
{
	if (f == NULL)
		return;
	fsync(f->fd);
	close(f->fd);
	free(f);
}
