/*
 * utf8 - one reading of UTF-8 for everything that shows or stores attacker
 * text (recordings, alert mail, moatctl's terminal output): RFC 3629's
 * well-formed sequences only (no overlong forms, no surrogates, nothing
 * above U+10FFFF), and the code points a terminal or a mail reader acts on
 * or that hide or reorder what follows.
 */
#ifndef MOAT_UTF8_H
#define MOAT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length of the well-formed sequence at p (len bytes left; 1 for
 * ASCII) and, when cp is not NULL, its code point; 0 when p starts none. */
size_t utf8_seq(const unsigned char *p, size_t len, uint32_t *cp);
/* 1 for C1 controls, soft hyphen, zero-width and bidi formatting, line and
 * paragraph separators, invisible operators and the BOM: shown escaped. */
int utf8_unsafe(uint32_t cp);

#endif
