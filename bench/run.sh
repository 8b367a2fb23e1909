#!/usr/bin/env bash
# `make bench`: measures workloads B1-B10 against the release build and writes
# docs/benchmarks.md, with ratios against the peers of bench/out/peers.json (`make bench-peers`)
# when it exists, and beanstalkd measured after each pass of B1, B2 and B4. Takes about 5
# minutes on 2 cores; never part of `make test`.
# Sizes and passes can be changed through the BENCH_* variables the scripts list.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
out=bench/out
doc=${BENCH_DOC:-docs/benchmarks.md}

# wrk drives B2, B8 and B9; perf and strace show where B1's time goes (optional)
make --no-print-directory install-packages PACKAGES="wrk"
# beanstalkd, measured beside each pass of B1, B2 and B4 (optional: without it their ratios to
# beanstalkd are those of bench/out/peers.json)
make --no-print-directory install-packages PACKAGES="beanstalkd" ||
    echo "bench: no beanstalkd; B1, B2 and B4 are compared with bench/out/peers.json only"
make --no-print-directory install-packages PACKAGES="linux-perf strace" ||
    echo "bench: no perf or strace; the profile of B1 is left out"

ninja -C build/release sked bench/bench-loadgen bench/bench-stamp bench/bench-spawn-rate \
    bench/bench-beanstalk >/dev/null
# measure a copy: a rebuild during the run must not change the binary under test
rm -rf "$out/results" "$out/work"
mkdir -p "$out/results" "$out/work/bin"
cp build/release/sked build/release/bench/bench-loadgen build/release/bench/bench-stamp \
   build/release/bench/bench-spawn-rate build/release/bench/bench-beanstalk "$out/work/bin/"
export SKED_BIN=$PWD/$out/work/bin/sked BENCH_LOADGEN=$PWD/$out/work/bin/bench-loadgen \
       BENCH_STAMP=$PWD/$out/work/bin/bench-stamp BENCH_SPAWN=$PWD/$out/work/bin/bench-spawn-rate \
       BENCH_BEANSTALK=$PWD/$out/work/bin/bench-beanstalk BENCH_OUT=$PWD/$out

BENCH_COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
# what the binary is built from besides the commit
BENCH_DIRTY=$(git status --porcelain -- src sql web meson.build meson_options.txt 2>/dev/null |
              awk '{print $2}' | paste -sd' ' || true)
BENCH_LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
export BENCH_COMMIT BENCH_DIRTY BENCH_LOAD_BEFORE

commands=(
    "python3 bench/bench_runs.py B1 B2 B3 B4 B5"
    "python3 bench/bench_latency.py"
    "python3 bench/bench_sched.py B7 B10"
    "python3 bench/bench_api.py B8 B9"
    "python3 bench/profile.py"
)
failed=0
for c in "${commands[@]}"; do
    echo "== $c" >&2
    # each script bounds itself; the timeout only catches a hang
    if ! timeout 420 $c; then
        echo "bench: '$c' failed; its rows are marked not measured" >&2
        failed=$((failed + 1))
    fi
done

BENCH_LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
BENCH_SECONDS=$(( $(date +%s) - start ))
BENCH_COMMANDS=$(printf '%s\n' "${commands[@]}")
export BENCH_LOAD_AFTER BENCH_SECONDS BENCH_COMMANDS
# the facts of the run, so bench/report.py can write the document again from the same results
python3 -c 'import json, os; json.dump({k: v for k, v in os.environ.items()
                                       if k.startswith("BENCH_")}, open(os.sys.argv[1], "w"))' \
    "$out/results/session.json"
python3 bench/report.py "$doc"
rm -rf "$out/work"
sed -n '/^## Results/,/^## Measured alongside/p' "$doc" | sed '$d'
echo "wrote $doc in $((BENCH_SECONDS / 60)) min $((BENCH_SECONDS % 60)) s" >&2
[ "$failed" = 0 ]
