/*
 * packages - the client packages operators publish (av_packages rows, files
 * in packages_dir put there by `moatctl packages add`), as the install page
 * lists them and bundles carry them (updated_packages.c).
 */
#ifndef MOAT_UPDATED_PACKAGES_H
#define MOAT_UPDATED_PACKAGES_H

#include <stddef.h>
#include <stdint.h>

struct store;

#define PKG_PLATFORM_MAX 32
#define PKG_NAME_MAX     128
#define PKG_VERSION_MAX  64
#define PKG_FILE_MAX     255

/* Platforms a bundle can be built for: "debian" (a .deb, dpkg/apt),
 * "rpm" (a .rpm, dnf/yum/rpm), "windows" (an .msi or .exe, schtasks). */
struct pkg {
	int64_t   id;
	char      platform[PKG_PLATFORM_MAX + 1];
	char      name[PKG_NAME_MAX + 1];
	char      version[PKG_VERSION_MAX + 1];
	char      file[PKG_FILE_MAX + 1];      /* a file name in packages_dir */
	char      sha256[65];
	uint64_t  size;
	int64_t   published;                   /* unix seconds */
};

/* The newest package of each platform, platforms in name order.  *out is
 * malloc'd (free it).  0, or -1 on a store error. */
int  packages_current(struct store *st, struct pkg **out, size_t *n);
/* The newest package of one platform: 1 found, 0 none, -1 store error. */
int  packages_for(struct store *st, const char *platform, struct pkg *out);
/* 1 when platform is one a bundle can be built for. */
int  packages_platform_ok(const char *platform);
/* 1 when name can be a file of packages_dir: 1..255 bytes of [A-Za-z0-9._+~-],
 * not starting with '.'. */
int  packages_file_ok(const char *name);

#endif
