/*
 * archive - the two archive writers a bundle needs (updated_archive.c): a
 * POSIX ustar stream (the Linux installer's payload, read by tar -x) and a
 * stored-method zip (the Windows bundle, CRC-32 from zlib).  Output goes to
 * a descriptor, sequentially, at its current offset; nothing is compressed
 * (the signature databases are compressed already and the package is).
 *
 * Every entry carries the same mtime, the caller's (the package's publish
 * time), owner 0/0 and a fixed mode, so an archive is a function of its
 * inputs: the same bundle twice is the same bytes.  Names are the caller's
 * fixed names (never client text): 1..99 bytes of [A-Za-z0-9._/-], no
 * "..", no leading '/'; anything else is refused.
 *
 * Ownership: struct archive is the caller's (on its stack); archive_open
 * starts it, archive_close writes the end (tar's zero blocks, zip's central
 * directory) and frees what it holds; archive_free releases it without
 * writing, after an error.  Both accept a failed or closed archive.
 */
#ifndef MOAT_UPDATED_ARCHIVE_H
#define MOAT_UPDATED_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

enum archive_kind { ARCHIVE_TAR, ARCHIVE_ZIP };

struct archive_ent;  /* a zip central directory entry */

struct archive {
	enum archive_kind    kind;
	int                  fd;
	int64_t              mtime;
	uint64_t             off;     /* bytes written so far */
	struct archive_ent  *ents;    /* zip */
	size_t               nents, cap;
	char                 err[160];
};

/* 0 (never fails today; kept for symmetry). */
int  archive_open(struct archive *a, enum archive_kind kind, int fd, int64_t mtime);
/* Adds a file from memory.  0, or -1 with a->err set. */
int  archive_add_mem(struct archive *a, const char *name, unsigned mode,
    const void *buf, size_t len);
/* Adds size bytes of src (a regular file, read with pread from offset 0:
 * the file must not shrink meanwhile).  0, or -1 with a->err set. */
int  archive_add_fd(struct archive *a, const char *name, unsigned mode, int src,
    uint64_t size);
/* Writes the archive's end and frees it.  0, or -1 with a->err set. */
int  archive_close(struct archive *a);
void archive_free(struct archive *a);

/* The bytes one entry of len bytes named name takes in an archive of kind
 * (headers, padding, a zip's central directory entry), and the end's. */
uint64_t archive_entry_size(enum archive_kind kind, const char *name, uint64_t len);
uint64_t archive_end_size(enum archive_kind kind);

#endif
