/*
 * quarantined_spool - the durable, content-addressed message store.
 *
 * Layout below the spool directory (opened once, as root, before the
 * privilege drop; every later access is relative to that descriptor):
 *   tmp/up-XXXXXX      uploads in progress (removed on any failure, and
 *                      swept at start-up: a crash leaves only these)
 *   XX/SHA256          stored content, XX = first two hex digits; one file
 *                      per distinct content, shared by every row with it
 *
 * A submission is durable before its 201: the handler thread writes and
 * fsyncs its upload; the committer thread then, for a batch of concurrent
 * submissions, renames each into place (or drops it when the content is
 * already stored), fsyncs each directory touched, inserts every row in one
 * SQLite transaction (synchronous=FULL) and commits.  Only then are the
 * handlers woken.  That is the group commit: fsync is never skipped, its
 * cost is shared.
 *
 * The spool lock (held by the committer for a whole batch, and by deletes
 * and purges while they look at references and unlink) guarantees that a
 * file is never removed between a submission's "already stored" and its
 * row's commit.  A crash between rename and commit leaves a content file
 * no row references; qspool_recover() removes those at start-up.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "log.h"
#include "quarantined.h"

struct commit_req {
	struct qspool_upload       *up;
	const struct submit_meta  *meta;
	int64_t                    id;
	int                        rc;      /* 0, -1, -2 */
	int                        done;
	int                        created; /* this batch linked the file */
	struct commit_req         *next;
};

struct qspool {
	int                 dirfd;
	int                 tmpfd;
	char               *path;
	struct store_pool  *pool;
	pthread_mutex_t     lock;           /* the spool lock */
	pthread_mutex_t     qlock;          /* the committer's queue */
	pthread_cond_t      qcond, dcond;
	struct commit_req  *head, *tail;
	long long           window_ms, batch;
	int                 stopping;
	int                 started;
	pthread_t           committer;
};

static const char hexd[] = "0123456789abcdef";

static void
hex_encode(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexd[d[i] >> 4];
		out[2 * i + 1] = hexd[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void
sha256_hex(const void *data, size_t len, char hex[QD_SHA256_HEX])
{
	struct sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_SIZE];

	sha256_init(&ctx);
	sha256_update(&ctx, len, data);
	sha256_digest(&ctx, sizeof(d), d);
	hex_encode(d, sizeof(d), hex);
}

/* ---------------------------------------------------------- uploads */

int
qspool_upload_begin(struct qspool *sp, struct qspool_upload *up)
{
	static const char cs[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[16];

	memset(up, 0, sizeof(*up));
	up->fd = -1;
	if ((up->sha = malloc(sizeof(struct sha256_ctx))) == NULL)
		return -1;
	sha256_init(up->sha);
	for (int tries = 0; tries < 100; tries++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			break;
		char *p = up->tmpname + snprintf(up->tmpname, sizeof(up->tmpname), "up-");
		for (size_t i = 0; i < sizeof(rnd); i++)
			*p++ = cs[rnd[i] % 36];
		*p = '\0';
		up->fd = openat(sp->tmpfd, up->tmpname,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (up->fd != -1 || errno != EEXIST)
			break;
	}
	if (up->fd == -1) {
		log_warn("%s/tmp: create upload file", sp->path);
		free(up->sha);
		up->sha = NULL;
		up->tmpname[0] = '\0';
		return -1;
	}
	return 0;
}

int
qspool_upload_write(struct qspool_upload *up, const void *buf, size_t len)
{
	const char *p = buf;

	sha256_update(up->sha, len, buf);
	while (len > 0) {
		ssize_t n = write(up->fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		up->size += (uint64_t)n;
	}
	return 0;
}

int
qspool_upload_finish(struct qspool_upload *up)
{
	uint8_t d[SHA256_DIGEST_SIZE];
	int rc;

	rc = fsync(up->fd);
	if (close(up->fd) == -1)
		rc = -1;
	up->fd = -1;
	if (rc == -1)
		return -1;
	sha256_digest(up->sha, sizeof(d), d);
	hex_encode(d, sizeof(d), up->sha256);
	return 0;
}

void
qspool_upload_abort(struct qspool *sp, struct qspool_upload *up)
{
	if (up->fd != -1)
		close(up->fd);
	up->fd = -1;
	if (up->tmpname[0] != '\0' && unlinkat(sp->tmpfd, up->tmpname, 0) == -1 &&
	    errno != ENOENT)
		log_warn("%s/tmp/%s: unlink", sp->path, up->tmpname);
	up->tmpname[0] = '\0';
	free(up->sha);
	up->sha = NULL;
}

/* ---------------------------------------------------------- committer */

static int
qspool_fsync_dir(struct qspool *sp, const char *sub)
{
	int fd, rc;

	fd = sub == NULL ? dup(sp->dirfd) :
	    openat(sp->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Renames req's upload into XX/SHA256 unless that content is there already.
 * Sets *newdir when XX had to be created.  0 or -1 (errno). */
static int
qspool_link(struct qspool *sp, struct commit_req *req, int *newdir)
{
	char sub[3], rel[80];
	struct stat sb;

	memcpy(sub, req->up->sha256, 2);
	sub[2] = '\0';
	snprintf(rel, sizeof(rel), "%s/%s", sub, req->up->sha256);
	if (mkdirat(sp->dirfd, sub, 0750) == 0)
		*newdir = 1;
	else if (errno != EEXIST)
		return -1;
	if (fstatat(sp->dirfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
	    (uint64_t)sb.st_size == req->up->size) {
		unlinkat(sp->tmpfd, req->up->tmpname, 0);
		req->up->tmpname[0] = '\0';
		return 0;
	}
	if (renameat(sp->tmpfd, req->up->tmpname, sp->dirfd, rel) == -1)
		return -1;
	req->up->tmpname[0] = '\0';
	req->created = 1;
	return 0;
}

/* Undoes a batch's renames after its commit failed (spool lock held). */
static void
qspool_unlink_created(struct qspool *sp, struct commit_req *batch)
{
	char rel[80];

	for (struct commit_req *r = batch; r != NULL; r = r->next) {
		if (!r->created)
			continue;
		snprintf(rel, sizeof(rel), "%.2s/%s", r->up->sha256, r->up->sha256);
		if (unlinkat(sp->dirfd, rel, 0) == -1 && errno != ENOENT)
			log_warn("%s/%s: unlink after failed commit", sp->path, rel);
		r->created = 0;
	}
}

/* 0..255: the XX directory of a sha256 hex text. */
static int
qspool_dir_index(const char *sha)
{
	return (int)((strchr(hexd, sha[0]) - hexd) << 4 | (strchr(hexd, sha[1]) - hexd));
}

static void
qspool_commit_batch(struct qspool *sp, struct commit_req *batch)
{
	char dirs[256];
	int newdir = 0, ok = 1;
	struct store *st;
	int64_t now = (int64_t)time(NULL);

	memset(dirs, 0, sizeof(dirs));
	qspool_lock(sp);
	for (struct commit_req *r = batch; r != NULL; r = r->next) {
		if (qspool_link(sp, r, &newdir) == -1) {
			log_warn("%s: store %s", sp->path, r->up->sha256);
			r->rc = -1;
			continue;
		}
		dirs[qspool_dir_index(r->up->sha256)] = 1;
	}
	for (int i = 0; i < 256 && ok; i++) {
		char sub[3] = { hexd[i >> 4], hexd[i & 15], 0 };
		if (dirs[i] && qspool_fsync_dir(sp, sub) == -1) {
			log_warn("%s/%s: fsync", sp->path, sub);
			ok = 0;
		}
	}
	if (ok && newdir && qspool_fsync_dir(sp, NULL) == -1) {
		log_warn("%s: fsync", sp->path);
		ok = 0;
	}
	st = store_pool_get(sp->pool);
	if (ok && store_begin(st) == -1)
		ok = 0;
	for (struct commit_req *r = batch; r != NULL && ok; r = r->next) {
		char rel[80];
		if (r->rc != 0)
			continue;
		snprintf(rel, sizeof(rel), "%.2s/%s", r->up->sha256, r->up->sha256);
		/* A refused row (constraint) rolls back that submission only. */
		if (index_insert(st, r->meta, r->up->sha256, (int64_t)r->up->size, rel,
		    now, &r->id) == -1)
			r->rc = -2;
	}
	if (ok && store_commit(st) == -1) {
		store_rollback(st);
		ok = 0;
	}
	if (!ok) {
		for (struct commit_req *r = batch; r != NULL; r = r->next)
			if (r->rc == 0)
				r->rc = -1;
		qspool_unlink_created(sp, batch);
	} else {
		/* Content linked for a refused row and used by no other row. */
		for (struct commit_req *r = batch; r != NULL; r = r->next)
			if (r->rc == -2 && r->created)
				qspool_drop_unreferenced(sp, st, r->up->sha256);
	}
	store_pool_put(sp->pool, st);
	qspool_unlock(sp);
}

static void *
qspool_committer(void *arg)
{
	struct qspool *sp = arg;
	struct commit_req *batch, *last;
	struct timespec until;
	long long n;

	pthread_mutex_lock(&sp->qlock);
	for (;;) {
		while (sp->head == NULL && !sp->stopping)
			pthread_cond_wait(&sp->qcond, &sp->qlock);
		if (sp->head == NULL && sp->stopping)
			break;
		if (sp->window_ms > 0) {
			/* Let concurrent submissions join this batch. */
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += (long)(sp->window_ms * 1000000LL);
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&sp->qcond, &sp->qlock, &until);
		}
		batch = last = sp->head;
		for (n = 1; n < sp->batch && last->next != NULL; n++)
			last = last->next;
		sp->head = last->next;
		if (sp->head == NULL)
			sp->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&sp->qlock);

		qspool_commit_batch(sp, batch);

		pthread_mutex_lock(&sp->qlock);
		for (struct commit_req *r = batch; r != NULL; r = r->next)
			r->done = 1;
		pthread_cond_broadcast(&sp->dcond);
	}
	pthread_mutex_unlock(&sp->qlock);
	return NULL;
}

int
qspool_commit(struct qspool *sp, struct qspool_upload *up, const struct submit_meta *m,
    int64_t *id)
{
	struct commit_req req;

	memset(&req, 0, sizeof(req));
	req.up = up;
	req.meta = m;
	pthread_mutex_lock(&sp->qlock);
	if (sp->stopping) {
		pthread_mutex_unlock(&sp->qlock);
		qspool_upload_abort(sp, up);
		return -1;
	}
	if (sp->tail != NULL)
		sp->tail->next = &req;
	else
		sp->head = &req;
	sp->tail = &req;
	pthread_cond_signal(&sp->qcond);
	while (!req.done)
		pthread_cond_wait(&sp->dcond, &sp->qlock);
	pthread_mutex_unlock(&sp->qlock);
	qspool_upload_abort(sp, up);     /* frees; the temp file is gone by now */
	*id = req.id;
	return req.rc;
}

/* ---------------------------------------------------------- life cycle */

/* Before the privilege drop: opens the spool directory (everything later is
 * relative to this descriptor).  0, or -1 (logged). */
int
qspool_open(const char *dir, struct qspool **out)
{
	struct qspool *sp;

	*out = NULL;
	if ((sp = calloc(1, sizeof(*sp))) == NULL || (sp->path = strdup(dir)) == NULL) {
		free(sp);
		log_warn("spool");
		return -1;
	}
	sp->tmpfd = -1;
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd == -1) {
		log_warn("%s: open spool", dir);
		free(sp->path);
		free(sp);
		return -1;
	}
	pthread_mutex_init(&sp->lock, NULL);
	pthread_mutex_init(&sp->qlock, NULL);
	pthread_cond_init(&sp->qcond, NULL);
	pthread_cond_init(&sp->dcond, NULL);
	*out = sp;
	return 0;
}

/* After the drop (files are created as the daemon's user): tmp/ and the
 * committer thread.  0, or -1 (logged). */
int
qspool_start(struct qspool *sp, struct store_pool *pool, long long window_ms, long long batch)
{
	sp->pool = pool;
	sp->window_ms = window_ms;
	sp->batch = batch;
	if (mkdirat(sp->dirfd, "tmp", 0750) == -1 && errno != EEXIST) {
		log_warn("%s/tmp: mkdir", sp->path);
		return -1;
	}
	sp->tmpfd = openat(sp->dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (sp->tmpfd == -1) {
		log_warn("%s/tmp: open", sp->path);
		return -1;
	}
	if (pthread_create(&sp->committer, NULL, qspool_committer, sp) != 0) {
		log_warnx("%s: cannot start the committer thread", sp->path);
		return -1;
	}
	sp->started = 1;
	return 0;
}

void
qspool_set_commit(struct qspool *sp, long long window_ms, long long batch)
{
	pthread_mutex_lock(&sp->qlock);
	sp->window_ms = window_ms;
	sp->batch = batch;
	pthread_mutex_unlock(&sp->qlock);
}

/* Stops the committer after the queued submissions are committed. */
void
qspool_close(struct qspool *sp)
{
	if (sp == NULL)
		return;
	if (sp->started) {
		pthread_mutex_lock(&sp->qlock);
		sp->stopping = 1;
		pthread_cond_broadcast(&sp->qcond);
		pthread_mutex_unlock(&sp->qlock);
		pthread_join(sp->committer, NULL);
	}
	if (sp->tmpfd != -1)
		close(sp->tmpfd);
	close(sp->dirfd);
	free(sp->path);
	free(sp);
}

void
qspool_lock(struct qspool *sp)
{
	pthread_mutex_lock(&sp->lock);
}

void
qspool_unlock(struct qspool *sp)
{
	pthread_mutex_unlock(&sp->lock);
}

int
qspool_open_item(struct qspool *sp, const char *rel)
{
	if (!parse_spool_path_ok(rel)) {
		log_warnx("%s: refusing stored path \"%.80s\"", sp->path, rel);
		errno = EINVAL;
		return -1;
	}
	return openat(sp->dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

void
qspool_drop_unreferenced(struct qspool *sp, struct store *st, const char *sha)
{
	char rel[80];

	if (!parse_sha256_ok(sha) || index_sha_refs(st, sha) != 0)
		return;
	snprintf(rel, sizeof(rel), "%.2s/%s", sha, sha);
	if (unlinkat(sp->dirfd, rel, 0) == -1 && errno != ENOENT)
		log_warn("%s/%s: unlink", sp->path, rel);
}

/* Content files no live row uses (a crash between rename and commit, or
 * between a delete's commit and its unlink). */
static int
qspool_sweep_dir(struct qspool *sp, struct store *st, const char *sub, int64_t *n)
{
	DIR *d;
	struct dirent *de;
	char rel[80];
	int fd;

	fd = openat(sp->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) != 64)
			continue;
		snprintf(rel, sizeof(rel), "%.2s/%.64s", sub, de->d_name);
		if (!parse_spool_path_ok(rel))
			continue;          /* not ours: leave it for the operator */
		if (index_sha_refs(st, de->d_name) == 0) {
			if (unlinkat(sp->dirfd, rel, 0) == 0)
				(*n)++;
		}
	}
	closedir(d);
	return 0;
}

int
qspool_recover(struct qspool *sp)
{
	DIR *d;
	struct dirent *de;
	int fd;
	int64_t ntmp = 0, norphan = 0;
	struct store *st;

	if ((fd = dup(sp->tmpfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		log_warn("%s/tmp: read", sp->path);
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "up-", 3) == 0 && unlinkat(sp->tmpfd, de->d_name, 0) == 0)
			ntmp++;
	closedir(d);
	st = store_pool_get(sp->pool);
	for (int i = 0; i < 256; i++) {
		char sub[3] = { hexd[i >> 4], hexd[i & 15], 0 };
		qspool_sweep_dir(sp, st, sub, &norphan);
	}
	store_pool_put(sp->pool, st);
	if (ntmp > 0 || norphan > 0)
		log_info("%s: recovery removed %lld unfinished uploads and %lld "
		    "unindexed content files", sp->path, (long long)ntmp, (long long)norphan);
	return 0;
}
