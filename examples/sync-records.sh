#!/bin/sh
# Synchronises a batch of records and reports inserted/updated/rejected counters on fd 3.
# Rejected records (every Nth, to demonstrate) make the run PARTIAL_SUCCESS. Every third record
# exists already in the catalogue: mode "update" updates it, mode "insert-only" leaves it as it
# is and counts it as skipped.
# The arguments come as options, through the task file's {{placeholders}} (an absent one as an
# empty value).
set -eu
records= every= mode=
while [ $# -gt 1 ]; do
    case "$1" in
        --records) records=$2 ;;
        --reject-every) every=$2 ;;
        --mode) mode=$2 ;;
        *) echo "<3>unknown option: $1" >&2; exit 2 ;;
    esac
    shift 2
done
[ $# -eq 0 ] || { echo "<3>option $1 needs a value" >&2; exit 2; }
records=${records:-50} every=${every:-0} mode=${mode:-update}
# custom arguments skip the job type's schema (and its enum): check what the script relies on
for n in "records=$records" "reject_every=$every"; do
    case "${n#*=}" in
        *[!0-9]* | ????????*) echo "<3>${n%%=*} must be a whole number below 10000000, not ${n#*=}" >&2; exit 2 ;;
    esac
done
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
