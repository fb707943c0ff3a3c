/*
 * The bundle's archive writers (see updated_archive.h): ustar (POSIX.1-2001
 * pax's base format, what GNU and BSD tar read) and zip with stored entries
 * (APPNOTE.TXT 4.3.7 local header, 4.3.12 central directory, 4.3.16 end;
 * no data descriptor: the CRC is computed first, so every reader, streaming
 * or not, finds sizes and CRC in the local header).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "fdio.h"
#include "updated_archive.h"

#define ARCHIVE_BUF   65536
#define TAR_BLOCK     512
#define TAR_SIZE_MAX  077777777777ULL    /* 11 octal digits: 8 GiB - 1 */
#define ZIP_SIZE_MAX  0xfffffffeULL      /* no zip64 */
#define ZIP_ENTS_MAX  65535

struct archive_ent {
	char      name[100];
	uint32_t  crc, size, off;
	unsigned  mode;
};

static int
archive_fail(struct archive *a, const char *what, int errnum)
{
	if (errnum)
		snprintf(a->err, sizeof(a->err), "%s: %s", what, strerror(errnum));
	else
		snprintf(a->err, sizeof(a->err), "%s", what);
	return -1;
}

static int
archive_put(struct archive *a, const void *buf, size_t len)
{
	if (fdio_write_all(a->fd, buf, len) == -1)
		return archive_fail(a, "write", errno);
	a->off += len;
	return 0;
}

/* The caller's fixed names only: see the header. */
static int
archive_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 99 || name[0] == '/' || strstr(name, "..") != NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || strchr("._/-", name[i]) != NULL))
			return 0;
	return 1;
}

int
archive_open(struct archive *a, enum archive_kind kind, int fd, int64_t mtime)
{
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->fd = fd;
	a->mtime = mtime < 0 ? 0 : mtime;
	return 0;
}

void
archive_free(struct archive *a)
{
	free(a->ents);
	a->ents = NULL;
	a->nents = a->cap = 0;
}

/* pread exactly len bytes at off, or -1 (a file that shrank is an error). */
static int
archive_pread(struct archive *a, int src, void *buf, size_t len, uint64_t off)
{
	char	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		n = pread(src, p, len, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return archive_fail(a, "read", errno);
		if (n == 0)
			return archive_fail(a, "read: the file shrank", 0);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Copies size bytes of src (from offset 0) to the archive. */
static int
archive_copy(struct archive *a, int src, uint64_t size)
{
	static __thread char	buf[ARCHIVE_BUF];
	uint64_t		off = 0;

	while (off < size) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);

		if (archive_pread(a, src, buf, n, off) == -1 || archive_put(a, buf, n) == -1)
			return -1;
		off += n;
	}
	return 0;
}

/* tar: the ustar header of a regular file. */
static int
archive_tar_header(struct archive *a, const char *name, unsigned mode, uint64_t size)
{
	unsigned char	h[TAR_BLOCK];
	unsigned	sum = 0;

	if (size > TAR_SIZE_MAX)
		return archive_fail(a, "tar: file too large", 0);
	memset(h, 0, sizeof(h));
	memcpy(h, name, strlen(name));
	snprintf((char *)h + 100, 8, "%07o", mode & 07777);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	snprintf((char *)h + 136, 12, "%011llo", (unsigned long long)a->mtime & TAR_SIZE_MAX);
	memset(h + 148, ' ', 8);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memcpy(h + 265, "root", 4);
	memcpy(h + 297, "root", 4);
	snprintf((char *)h + 329, 8, "%07o", 0);
	snprintf((char *)h + 337, 8, "%07o", 0);
	for (size_t i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum & 0777777);
	h[155] = ' ';
	return archive_put(a, h, sizeof(h));
}

/* tar: zeros up to the next block. */
static int
archive_tar_pad(struct archive *a, uint64_t size)
{
	static const char zero[TAR_BLOCK];
	size_t r = (size_t)(size % TAR_BLOCK);

	return r ? archive_put(a, zero, TAR_BLOCK - r) : 0;
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

static void
put32(unsigned char *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

/* MS-DOS time and date of the archive's mtime (UTC; 1980 at the earliest). */
static void
archive_dos_time(const struct archive *a, unsigned *dtime, unsigned *ddate)
{
	time_t		t = (time_t)a->mtime;
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 80 || tm.tm_year > 207) {
		*dtime = 0;
		*ddate = (1 << 5) | 1;
		return;
	}
	*dtime = (unsigned)(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
	*ddate = (unsigned)((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday);
}

/* zip: records the entry and writes its local header. */
static int
archive_zip_header(struct archive *a, const char *name, unsigned mode, uint64_t size,
    uint32_t crc)
{
	unsigned char		 h[30];
	unsigned		 dtime, ddate;
	struct archive_ent	*e;
	size_t			 nlen = strlen(name);

	if (size > ZIP_SIZE_MAX || a->off > ZIP_SIZE_MAX)
		return archive_fail(a, "zip: too large (no zip64)", 0);
	if (a->nents == ZIP_ENTS_MAX)
		return archive_fail(a, "zip: too many entries", 0);
	if (a->nents == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		void *p = reallocarray(a->ents, cap, sizeof(*a->ents));

		if (p == NULL)
			return archive_fail(a, "zip", errno);
		a->ents = p;
		a->cap = cap;
	}
	e = &a->ents[a->nents++];
	memcpy(e->name, name, nlen + 1);
	e->crc = crc;
	e->size = (uint32_t)size;
	e->off = (uint32_t)a->off;
	e->mode = mode & 07777;

	archive_dos_time(a, &dtime, &ddate);
	put32(h, 0x04034b50);
	put16(h + 4, 20);         /* version needed: 2.0 */
	put16(h + 6, 0);          /* flags */
	put16(h + 8, 0);          /* stored */
	put16(h + 10, dtime);
	put16(h + 12, ddate);
	put32(h + 14, crc);
	put32(h + 18, (uint32_t)size);
	put32(h + 22, (uint32_t)size);
	put16(h + 26, (unsigned)nlen);
	put16(h + 28, 0);
	if (archive_put(a, h, sizeof(h)) == -1)
		return -1;
	return archive_put(a, name, nlen);
}

static int
archive_zip_end(struct archive *a)
{
	unsigned char	h[46];
	unsigned	dtime, ddate;
	uint64_t	cd = a->off;

	archive_dos_time(a, &dtime, &ddate);
	for (size_t i = 0; i < a->nents; i++) {
		const struct archive_ent *e = &a->ents[i];
		size_t nlen = strlen(e->name);

		put32(h, 0x02014b50);
		put16(h + 4, 3 << 8 | 20);  /* made by: Unix, 2.0 (mode in the attrs) */
		put16(h + 6, 20);
		put16(h + 8, 0);
		put16(h + 10, 0);
		put16(h + 12, dtime);
		put16(h + 14, ddate);
		put32(h + 16, e->crc);
		put32(h + 20, e->size);
		put32(h + 24, e->size);
		put16(h + 28, (unsigned)nlen);
		put16(h + 30, 0);           /* extra */
		put16(h + 32, 0);           /* comment */
		put16(h + 34, 0);           /* disk */
		put16(h + 36, 0);           /* internal attributes */
		put32(h + 38, (uint32_t)(0100000 | e->mode) << 16);
		put32(h + 42, e->off);
		if (archive_put(a, h, 46) == -1 || archive_put(a, e->name, nlen) == -1)
			return -1;
	}
	if (a->off > ZIP_SIZE_MAX)
		return archive_fail(a, "zip: too large (no zip64)", 0);
	put32(h, 0x06054b50);
	put16(h + 4, 0);
	put16(h + 6, 0);
	put16(h + 8, (unsigned)a->nents);
	put16(h + 10, (unsigned)a->nents);
	put32(h + 12, (uint32_t)(a->off - cd));
	put32(h + 16, (uint32_t)cd);
	put16(h + 20, 0);
	return archive_put(a, h, 22);
}

int
archive_add_mem(struct archive *a, const char *name, unsigned mode, const void *buf,
    size_t len)
{
	if (!archive_name_ok(name))
		return archive_fail(a, "archive: bad entry name", 0);
	if (a->kind == ARCHIVE_TAR) {
		if (archive_tar_header(a, name, mode, len) == -1 || archive_put(a, buf, len) == -1)
			return -1;
		return archive_tar_pad(a, len);
	}
	uint32_t crc = (uint32_t)crc32(0L, buf, (uInt)len);
	if (len > ZIP_SIZE_MAX || archive_zip_header(a, name, mode, len, crc) == -1)
		return len > ZIP_SIZE_MAX ? archive_fail(a, "zip: too large", 0) : -1;
	return archive_put(a, buf, len);
}

int
archive_add_fd(struct archive *a, const char *name, unsigned mode, int src, uint64_t size)
{
	static __thread char	buf[ARCHIVE_BUF];

	if (!archive_name_ok(name))
		return archive_fail(a, "archive: bad entry name", 0);
	if (a->kind == ARCHIVE_TAR) {
		if (archive_tar_header(a, name, mode, size) == -1 || archive_copy(a, src, size) == -1)
			return -1;
		return archive_tar_pad(a, size);
	}
	if (size > ZIP_SIZE_MAX)
		return archive_fail(a, "zip: file too large (no zip64)", 0);
	/* The CRC first, so the local header is complete. */
	uLong crc = crc32(0L, Z_NULL, 0);
	for (uint64_t off = 0; off < size; ) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);

		if (archive_pread(a, src, buf, n, off) == -1)
			return -1;
		crc = crc32(crc, (const Bytef *)buf, (uInt)n);
		off += n;
	}
	if (archive_zip_header(a, name, mode, size, (uint32_t)crc) == -1)
		return -1;
	return archive_copy(a, src, size);
}

uint64_t
archive_entry_size(enum archive_kind kind, const char *name, uint64_t len)
{
	if (kind == ARCHIVE_TAR)
		return TAR_BLOCK + (len + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
	return 30 + 46 + 2 * (uint64_t)strlen(name) + len;
}

uint64_t
archive_end_size(enum archive_kind kind)
{
	return kind == ARCHIVE_TAR ? 2 * TAR_BLOCK : 22;
}

int
archive_close(struct archive *a)
{
	static const char	zero[TAR_BLOCK * 2];
	int			rc;

	if (a->kind == ARCHIVE_TAR)
		rc = archive_put(a, zero, sizeof(zero));
	else
		rc = archive_zip_end(a);
	archive_free(a);
	return rc;
}
