#!/bin/sh
# Synchronises a batch of records and reports inserted/updated/rejected counters on fd 3.
# Rejected records (every Nth, to demonstrate) make the run PARTIAL_SUCCESS. Every third record
# exists already in the catalogue: mode "update" updates it, mode "insert-only" leaves it as it
# is and counts it as skipped.
set -eu
args=$(cat)
num() { printf '%s' "$args" | sed -n "s/.*\"$1\": *\([0-9][0-9]*\).*/\1/p"; }
str() { printf '%s' "$args" | sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p"; }
records=$(num records); records=${records:-50}
every=$(num reject_every); every=${every:-0}
mode=$(str mode); mode=${mode:-update}
# custom arguments skip the job type's schema (and its enum): check what the script relies on
case "$mode" in
    update | insert-only) ;;
    *) echo "<3>mode must be update or insert-only" >&2; exit 2 ;;
esac
echo "synchronising $records record(s) since ${SKED_SINCE:-the beginning}"
[ "$mode" = update ] || echo "mode $mode: records that exist already are left as they are"
i=0 inserted=0 updated=0 skipped=0 errored=0
while [ "$i" -lt "$records" ]; do
    i=$((i + 1))
    if [ "$every" -gt 0 ] && [ $((i % every)) -eq 0 ]; then
        errored=$((errored + 1))
        echo "<4>record $i rejected by the catalogue: missing identifier"
    elif [ $((i % 3)) -ne 0 ]; then
        inserted=$((inserted + 1))
    elif [ "$mode" = update ]; then
        updated=$((updated + 1))
    else
        skipped=$((skipped + 1))
    fi
    if [ $((i % 10)) -eq 0 ] || [ "$i" -eq "$records" ]; then
        printf '{"progress":{"done":%d,"total":%d},"entries":{"total":%d,"inserted":%d,"updated":%d,"errored":%d}}\n' \
            "$i" "$records" "$records" "$inserted" "$updated" "$errored" >&3
    fi
done
if [ "$mode" = update ]; then
    printf '{"output":{"inserted":%d,"updated":%d,"rejected":%d}}\n' \
        "$inserted" "$updated" "$errored" >&3
    echo "finished: $inserted inserted, $updated updated, $errored rejected"
else
    printf '{"output":{"inserted":%d,"updated":0,"rejected":%d,"skipped":%d}}\n' \
        "$inserted" "$errored" "$skipped" >&3
    echo "finished: $inserted inserted, $skipped skipped (insert-only), $errored rejected"
fi
