#!/usr/bin/env python3
"""Writes src/base/casefold_table.h, the simple case folding utf8_fold applies.

usage: gen_casefold.py [CaseFolding.txt [OUT.h]]
       (defaults: /usr/share/unicode/CaseFolding.txt, Debian's package unicode-data, and
       src/base/casefold_table.h beside this script's folder)

Takes the mappings of status C (common) and S (simple) of Unicode's CaseFolding.txt, the
simple case folding: one code point to one code point (F, full folds to several, and T, the
Turkic dotted and dotless i, are left out). Consecutive mappings with the same difference,
at every code point or every other one, become one range, so the table holds about 200
ranges for some 1,450 letters. Two indexes find the range for a code point: one by code
point for those of one and two bytes in UTF-8, below U+0800 (Latin, Greek, Cyrillic,
Armenian: most of the letters beyond ASCII in titles), and one by blocks of 128 code points
for the rest of the BMP, which gives the few ranges that may hold a code point of the block
(none for most: CJK, Indic scripts) for utf8.c to bisect; past the BMP (Deseret, Osage,
Adlam, emoji), it bisects the few ranges there.

The output is committed: building sked needs neither this script nor the data file. Run it
again when a new Unicode version is wanted, and commit the result.
"""
import bisect
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_IN = "/usr/share/unicode/CaseFolding.txt"
DEFAULT_OUT = os.path.join(HERE, "..", "src", "base", "casefold_table.h")

SPAN_BITS = 10  # a range's last code point less its first, below 1 << SPAN_BITS
CP_BITS = 21    # code points up to 0x10FFFF
BLOCK_SHIFT = 7  # the index has an entry for every 128 code points


def read(path):
    """The version named in the file's first line, and {code point: folded code point}."""
    version = None
    folds = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if version is None:
                m = re.match(r"#\s*CaseFolding-(\d+\.\d+\.\d+)\.txt", line)
                if m:
                    version = m.group(1)
            data = line.split("#", 1)[0].strip()
            if not data:
                continue
            fields = [x.strip() for x in data.split(";")]
            code, status, mapping = fields[0], fields[1], fields[2]
            if status not in ("C", "S"):
                continue
            targets = mapping.split()
            if len(targets) != 1:
                sys.exit("%s: %s of status %s maps to %d code points" % (path, code, status,
                                                                        len(targets)))
            cp = int(code, 16)
            if cp in folds:
                sys.exit("%s: %s mapped twice" % (path, code))
            folds[cp] = int(targets[0], 16)
    if version is None:
        sys.exit("%s: no '# CaseFolding-X.Y.Z.txt' line" % path)
    if not folds:
        sys.exit("%s: no mappings of status C or S" % path)
    return version, folds


def ranges(folds):
    """[(first, last, stride, delta)]: every mapping once, in order, the ranges disjoint."""
    cps = sorted(folds)
    out = []
    i = 0
    while i < len(cps):
        first = cps[i]
        delta = folds[first] - first
        stride = None
        j = i
        while j + 1 < len(cps) and folds[cps[j + 1]] - cps[j + 1] == delta:
            gap = cps[j + 1] - cps[j]
            if stride is None and gap in (1, 2):
                stride = gap
            if gap != stride or cps[j + 1] - first >= 1 << SPAN_BITS:
                break
            j += 1
        out.append((first, cps[j], stride or 1, delta))
        i = j + 1
    return out


def check(folds, table):
    """The table gives exactly the mappings, and a folded letter folds no further."""
    def look(cp):
        for first, last, stride, delta in table:
            if first <= cp <= last and (cp - first) % stride == 0:
                return cp + delta
        return cp

    for cp, to in folds.items():
        if look(cp) != to:
            sys.exit("U+%04X: the table gives U+%04X, not U+%04X" % (cp, look(cp), to))
        if to in folds:
            sys.exit("U+%04X folds to U+%04X, which folds again" % (cp, to))
        # the LIKE patterns of searches escape % _ \ after folding: only letters fold
        if to < 0x80 and not chr(to).isalpha():
            sys.exit("U+%04X folds to %r" % (cp, chr(to)))
        # utf8_fold reserves room for half as many bytes again as it folds
        if 2 * len(chr(to).encode()) > 3 * len(chr(cp).encode()):
            sys.exit("U+%04X folds to U+%04X, more than 3 bytes for 2" % (cp, to))
    covered = sum((last - first) // stride + 1 for first, last, stride, _ in table)
    if covered != len(folds):
        sys.exit("the ranges cover %d code points for %d mappings" % (covered, len(folds)))
    for a, b in zip(table, table[1:]):
        if a[1] >= b[0]:
            sys.exit("ranges U+%04X and U+%04X overlap" % (a[0], b[0]))
    for first, last, _, delta in table:
        if first >= 1 << CP_BITS or last - first >= 1 << SPAN_BITS:
            sys.exit("range U+%04X..U+%04X does not fit" % (first, last))
        for cp in (first + delta, last + delta):
            if not 0 < cp <= 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
                sys.exit("range U+%04X folds outside the code points" % first)


def blocks(table):
    """For each block of 1 << BLOCK_SHIFT code points up to the last folded one of the BMP, and
    one past it: how many ranges end before the block starts, the first range to look at."""
    count = (max(r[1] for r in table if r[1] < 0x10000) >> BLOCK_SHIFT) + 1
    return [sum(1 for r in table if r[1] < b << BLOCK_SHIFT) for b in range(count + 1)]


def direct(table):
    """For each code point of one or two bytes in UTF-8 (below U+0800): the range deciding
    it, the last that starts at it or before (the first for the code points before every
    range, which it then does not hold)."""
    firsts = [r[0] for r in table]
    return [max(bisect.bisect_right(firsts, c) - 1, 0) for c in range(0x800)]


def write(path, version, folds, table):
    index = blocks(table)
    near = direct(table)
    index_type = "uint8_t" if len(table) < 1 << 8 else "uint16_t"
    size = 8 * len(table) + (1 if index_type == "uint8_t" else 2) * (len(index) + len(near))
    lines = [
        "/*",
        " * Generated by tools/gen_casefold.py from CaseFolding.txt of Unicode version %s; do not"
        % version,
        " * edit. Its simple case folding (status C and S): %d code points in %d ranges, with an"
        % (len(folds), len(table)),
        " * index by blocks of %d code points and one by code point for the first %d; %d bytes in"
        % (1 << BLOCK_SHIFT, len(near), size),
        " * all.",
        " */",
        "#ifndef SKED_CASEFOLD_TABLE_H",
        "#define SKED_CASEFOLD_TABLE_H",
        "",
        "#include <stdint.h>",
        "",
        "#define CASEFOLD_UNICODE_VERSION \"%s\"" % version,
        "#define CASEFOLD_CODE_POINTS %d /* that fold to another */" % len(folds),
        "#define CASEFOLD_RANGES %d" % len(table),
        "#define CASEFOLD_BLOCK_SHIFT %d" % BLOCK_SHIFT,
        "#define CASEFOLD_BLOCKS %d /* indexed blocks: the BMP's up to its last fold */"
        % (len(index) - 1),
        "#define CASEFOLD_DIRECT %d /* code points indexed one by one: 0 up to U+%04X */"
        % (len(near), len(near) - 1),
        "",
        "/* The code points first, first + 1 (or + 2: every_other), ... up to first + span",
        " * fold to themselves plus delta. Sorted by first and disjoint; a code point in no",
        " * range, or between the strides of one, folds to itself. */",
        "struct casefold_range {",
        "    uint32_t first : %d;" % CP_BITS,
        "    uint32_t span : %d;" % SPAN_BITS,
        "    uint32_t every_other : 1;",
        "    int32_t delta;",
        "};",
        "",
        "static const struct casefold_range casefold_ranges[CASEFOLD_RANGES] = {",
    ]
    for first, last, stride, delta in table:
        lines.append("    {0x%04X, %d, %d, %d}," % (first, last - first, stride == 2, delta))
    lines += [
        "};",
        "",
        "/* For a code point c of block b = c >> CASEFOLD_BLOCK_SHIFT < CASEFOLD_BLOCKS, the",
        " * ranges that may hold it are casefold_ranges[casefold_blocks[b]] up to",
        " * [casefold_blocks[b + 1]] (not past the last): [b] ranges end before the block.",
        " * For c of a later block, those from [casefold_blocks[CASEFOLD_BLOCKS]] on. */",
        "static const %s casefold_blocks[CASEFOLD_BLOCKS + 1] = {" % index_type,
    ]
    per_line = 16
    for i in range(0, len(index), per_line):
        lines.append("    " + ", ".join("%d" % v for v in index[i:i + per_line]) + ",")
    lines += [
        "};",
        "",
        "/* For a code point c < CASEFOLD_DIRECT, the range that decides how it folds: the",
        " * last one starting at c or before ([0] for those before every range). */",
        "static const %s casefold_direct[CASEFOLD_DIRECT] = {" % index_type,
    ]
    for i in range(0, len(near), per_line):
        lines.append("    " + ", ".join("%d" % v for v in near[i:i + per_line]) + ",")
    lines += ["};", "", "#endif", ""]
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines))


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_IN
    out = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_OUT
    version, folds = read(src)
    table = ranges(folds)
    check(folds, table)
    write(out, version, folds, table)
    print("%s: Unicode %s, %d code points in %d ranges" % (os.path.normpath(out), version,
                                                           len(folds), len(table)))


if __name__ == "__main__":
    main()
