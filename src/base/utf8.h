/*
 * utf8: making bytes from outside (child output, file names) safe to store and to put in JSON.
 */
#ifndef SKED_UTF8_H
#define SKED_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

bool utf8_valid(const char *s, size_t n);
/* The columns a terminal shows s in: wide East Asian characters and emoji take 2, combining
 * marks none. */
size_t utf8_width(const char *s);
/* The length in bytes of the character s starts with (of at most n bytes; 1 for an invalid
 * byte), and in *width the columns it takes. */
size_t utf8_next(const char *s, size_t n, int *width);
/* The end of the last whole UTF-8 sequence in s[0..n): where s may be cut to at most n bytes
 * without breaking a character in two (n itself when nothing else would be left, or for
 * continuation bytes with no lead; a byte that reads as a lead is left out with what follows). */
size_t utf8_whole(const char *s, size_t n);
/* Number of characters (code points) of a valid UTF-8 string. */
size_t utf8_chars(const char *s);
/* Whether s holds nothing but white space (Unicode's, U+00A0 and U+3000 included) and
 * characters that take no room (U+200B, U+FEFF, …): a title that shows nothing. An invalid
 * sequence is not blank. */
bool utf8_blank(const char *s);
/* Whether s (UTF-8) holds a control character (C0, tab and newline included, DEL, or C1,
 * U+0080..U+009F, which some terminals obey) or a line or paragraph separator (U+2028,
 * U+2029, which pages break lines at): no place in a one-line name shown in logs, messages
 * and pages. */
bool utf8_has_control(const char *s);
/* Appends s[0..n) case-folded for searches that ignore case: Unicode's simple case folding
 * (CaseFolding.txt, status C and S; casefold_table.h) of every script, so capitals become
 * small letters (A a, Ä ä, Ł ł, Σ σ, Ж ж, Ա ա, Ა ა, fullwidth Ａ ａ, Deseret 𐐀 𐐨) and a
 * few more letters their folded form (ς σ, ſ s, µ μ). A letter may fold to one of another
 * length in UTF-8 (K KELVIN SIGN k, ẞ ß, Ⱥ ⱥ), so the text may shrink, or grow by half at
 * most. Everything else, invalid sequences and NUL bytes too, is copied as it is; ASCII but
 * A-Z byte for byte. Folding folded text changes nothing. Full foldings to several letters
 * (ß ss, ŉ ʼn) and the Turkic dotted and dotless i are not made: İ and ı stay as they are. */
void utf8_fold(struct buf *out, const char *s, size_t n);
/* Appends s[0..n) to out with invalid sequences and NUL bytes replaced by U+FFFD. */
void utf8_sanitize(struct buf *out, const char *s, size_t n);

#endif
