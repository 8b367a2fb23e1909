#!/bin/sh
# Imports the files of a folder changed since the last successful run.
# sked passes the arguments as JSON on stdin and the window start in SKED_SINCE (empty on a first
# run); progress and counters go to the status channel, fd 3.
set -eu
dir=
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir=$2; shift 2 ;;
        *) echo "<3>unknown option: $1" >&2; exit 2 ;;
    esac
done
args=$(cat)
pattern=$(printf '%s' "$args" | sed -n 's/.*"pattern": *"\([^"]*\)".*/\1/p')
limit=$(printf '%s' "$args" | sed -n 's/.*"limit": *\([0-9][0-9]*\).*/\1/p')
[ -n "$pattern" ] || pattern='*'
[ -d "$dir" ] || { echo "<3>source folder $dir does not exist" >&2; exit 1; }

if [ -n "${SKED_SINCE:-}" ]; then
    echo "importing files of $dir changed since $SKED_SINCE"
    list=$(find "$dir" -maxdepth 1 -type f -name "$pattern" -newermt "$SKED_SINCE" 2>/dev/null | sort)
else
    echo "first run: importing every file of $dir"
    list=$(find "$dir" -maxdepth 1 -type f -name "$pattern" 2>/dev/null | sort)
fi
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
printf '{"message":"imported %d file(s)","output":{"folder":"%s","imported":%d}}\n' "$total" "$dir" "$total" >&3
echo "done: $total file(s) imported"
