#!/usr/bin/env bash
# Runs the benchmarks against a release build and writes docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ninja -C build/release sked bench/bench-loadgen >/dev/null
out=docs/benchmarks.md
runs=$(python3 bench/bench_runs.py "${BENCH_RUNS:-5000}" "${BENCH_PASSES:-3}")
sched=$(python3 bench/bench_sched.py "${BENCH_SCHED_SECONDS:-20}")
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
    echo "# Benchmarks"
    echo
    echo "Measured by \`make bench\` (bench/run.sh) on $(date -u +%Y-%m-%d): $(nproc) cores ($cpu),"
    echo "$(. /etc/os-release; echo "$PRETTY_NAME"), sked $(./build/release/sked version | cut -d' ' -f2), release build."
    echo "Figures are medians over the passes noted; the machines are shared, so compare ratios"
    echo "measured in one session rather than absolute numbers across sessions."
    echo
    echo "## Runs through the API"
    echo
    echo "\`python3 bench/bench_runs.py ${BENCH_RUNS:-5000} ${BENCH_PASSES:-3}\`: one client (bench/loadgen.c) submits"
    echo "runs of a job whose task is \`/bin/true\` one at a time over a keep-alive connection; the"
    echo "figure counts from the first submit until every run is SUCCESS. Latency is sked's own"
    echo "record: \`started_at - created\` of each run."
    echo
    echo "| workload | throughput | latency |"
    echo "|---|---|---|"
    echo "$runs"
    echo
    echo "## Scheduler"
    echo
    echo "\`python3 bench/bench_sched.py ${BENCH_SCHED_SECONDS:-20}\`: lateness of a 1-second interval job"
    echo "(\`created - scheduled_for\` of each scheduled run) while the heap holds 1, 1,000 or 10,000"
    echo "active schedules (the others are daily crontabs in Europe/Zurich); memory per schedule is"
    echo "the RSS growth of the server divided by the number of scheduled jobs (store cache"
    echo "included)."
    echo
    echo "| workload | fires | lateness | memory |"
    echo "|---|---|---|---|"
    echo "$sched"
} > "$out.new"
if [ -f docs/benchmarks-notes.md ]; then cat docs/benchmarks-notes.md >> "$out.new"; fi
mv "$out.new" "$out"
cat "$out"
