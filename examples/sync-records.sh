#!/bin/sh
# Synchronises a batch of records and reports inserted/updated/rejected counters on fd 3.
# Rejected records (every Nth, to demonstrate) make the run PARTIAL_SUCCESS.
set -eu
args=$(cat)
num() { printf '%s' "$args" | sed -n "s/.*\"$1\": *\([0-9][0-9]*\).*/\1/p"; }
records=$(num records); records=${records:-50}
every=$(num reject_every); every=${every:-0}
echo "synchronising $records record(s) since ${SKED_SINCE:-the beginning}"
i=0 inserted=0 updated=0 errored=0
while [ "$i" -lt "$records" ]; do
    i=$((i + 1))
    if [ "$every" -gt 0 ] && [ $((i % every)) -eq 0 ]; then
        errored=$((errored + 1))
        echo "<4>record $i rejected by the catalogue: missing identifier"
    elif [ $((i % 3)) -eq 0 ]; then
        updated=$((updated + 1))
    else
        inserted=$((inserted + 1))
    fi
    if [ $((i % 10)) -eq 0 ] || [ "$i" -eq "$records" ]; then
        printf '{"progress":{"done":%d,"total":%d},"entries":{"total":%d,"inserted":%d,"updated":%d,"errored":%d}}\n' \
            "$i" "$records" "$records" "$inserted" "$updated" "$errored" >&3
    fi
done
printf '{"output":{"inserted":%d,"updated":%d,"rejected":%d}}\n' "$inserted" "$updated" "$errored" >&3
echo "finished: $inserted inserted, $updated updated, $errored rejected"
