#!/bin/sh
# A long task with progress: rebuilds N index segments, one every S seconds. On SIGTERM it
# finishes the current segment, says so and exits, which sked records as CANCELLED.
set -u
steps=${1:-60}
pause=${2:-1}
stopping=0
trap 'stopping=1' TERM
echo "rebuilding $steps segment(s)"
i=0
while [ "$i" -lt "$steps" ]; do
    if [ "$stopping" -eq 1 ]; then
        echo "<4>stop requested after $i of $steps segment(s); leaving the index consistent"
        exit 143
    fi
    i=$((i + 1))
    sleep "$pause" &
    wait $! 2>/dev/null || true
    echo "<7>segment $i rebuilt"
    printf '{"progress":{"done":%d,"total":%d}}\n' "$i" "$steps" >&3
done
printf '{"message":"rebuilt %d segment(s)","output":{"segments":%d}}\n' "$steps" "$steps" >&3
echo "index rebuilt"
