#!/bin/sh
# Imports the files of a folder changed since the last successful run.
# The task file passes the arguments as options through its {{placeholders}} (an absent one as
# an empty value), and sked the window in SKED_SINCE (empty on a first run) and SKED_UNTIL;
# progress and counters go to the status channel, fd 3. The same arguments arrive as JSON on stdin, unread
# here: a shell script takes its values from argv, where no JSON needs parsing.
set -eu

# $1 as a JSON string: quotes, backslashes and control characters escaped (bytes are kept as
# they are otherwise, so text in UTF-8 stays valid). The "." guards trailing newlines against
# the command substitution of the caller.
json_string() {
    printf '%s.' "$1" | LC_ALL=C awk '
        BEGIN {
            for (i = 1; i < 32; i++) esc[sprintf("%c", i)] = sprintf("\\u%04x", i)
            esc["\""] = "\\\""; esc["\\"] = "\\\\"; esc["\t"] = "\\t"; esc["\r"] = "\\r"
        }
        {
            if (NR > 1) out = out "\\n"
            n = length($0)
            for (i = 1; i <= n; i++) { c = substr($0, i, 1); out = out ((c in esc) ? esc[c] : c) }
        }
        END { printf "\"%s\"", substr(out, 1, length(out) - 1) }'
}

dir= pattern= limit=
while [ $# -gt 1 ]; do
    case "$1" in
        --dir) dir=$2 ;;
        --pattern) pattern=$2 ;;
        --limit) limit=$2 ;;
        *) echo "<3>unknown option: $1" >&2; exit 2 ;;
    esac
    shift 2
done
[ $# -eq 0 ] || { echo "<3>option $1 needs a value" >&2; exit 2; }
[ -n "$pattern" ] || pattern='*'
# custom arguments skip the job type's schema: check what the script relies on
case "$limit" in
    *[!0-9]*) echo "<3>limit must be a whole number, not $limit" >&2; exit 2 ;;
esac
[ -d "$dir" ] || { echo "<3>source folder $dir does not exist" >&2; exit 1; }
# a folder named like an option would be read by find as one
case "$dir" in -*) from=./$dir ;; *) from=$dir ;; esac

since=${SKED_SINCE:-}
if [ -n "$since" ]; then
    # sked's own since is a date-time; with custom arguments it is whatever the caller sent, so
    # it is checked before find reads it as one (find's error would go unnoticed below)
    case "$since" in
        [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*) ;;
        *) since=bad ;;
    esac
    case "${since#????-??-??T??:??:??}" in *[!0-9.:+Z-]*) since=bad ;; esac
    if [ "$since" = bad ]; then
        echo "<3>SKED_SINCE is not a date-time such as 2026-11-29T11:05:39.890322+00:00" >&2
        exit 2
    fi
    echo "importing files of $dir changed since $since"
    set -- -newermt "$since"
else
    echo "first run: importing every file of $dir"
    set --
fi
# a file changed after this run started is the next run's (its since is this run's start), so
# that no file is imported twice by runs that succeed one after the other
[ -z "${SKED_UNTIL:-}" ] || set -- "$@" ! -newermt "$SKED_UNTIL"
list=$(find "$from" -maxdepth 1 -type f -name "$pattern" "$@")
list=$(printf '%s\n' "$list" | sort)
total=$(printf '%s' "$list" | grep -c . || true)
if [ -n "$limit" ] && [ "$total" -gt "$limit" ]; then total=$limit; fi
done_n=0
printf '%s\n' "$list" | while IFS= read -r f; do
    [ -n "$f" ] || continue
    [ "$done_n" -lt "$total" ] || break
    done_n=$((done_n + 1))
    echo "<7>imported $(basename "$f") ($(wc -c < "$f") bytes)"
    printf '{"progress":{"done":%d,"total":%d}}\n' "$done_n" "$total" >&3
done
printf '{"entries":{"total":%d,"inserted":%d,"updated":0,"errored":0}}\n' "$total" "$total" >&3
printf '{"message":"imported %d file(s)","output":{"folder":%s,"imported":%d}}\n' \
    "$total" "$(json_string "$dir")" "$total" >&3
echo "done: $total file(s) imported"
