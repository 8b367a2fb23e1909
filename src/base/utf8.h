/*
 * utf8: making bytes from outside (child output, file names) safe to store and to put in JSON.
 */
#ifndef SKED_UTF8_H
#define SKED_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

bool utf8_valid(const char *s, size_t n);
/* Number of characters (code points) of a valid UTF-8 string. */
size_t utf8_chars(const char *s);
/* Whether s holds nothing but white space (space, tab, CR, LF, VT, FF): a title that shows
 * nothing. */
bool utf8_blank(const char *s);
/* Appends s[0..n) in lower case for searches that ignore case: ASCII, Latin-1, Latin
 * Extended-A, Greek and basic Cyrillic capitals become their small letters (Ä ä, Ł ł, Σ σ,
 * ς σ, Ж ж); everything else, invalid sequences too, is copied as it is. */
void utf8_fold(struct buf *out, const char *s, size_t n);
/* Appends s[0..n) to out with invalid sequences and NUL bytes replaced by U+FFFD. */
void utf8_sanitize(struct buf *out, const char *s, size_t n);

#endif
