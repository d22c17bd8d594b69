#!/usr/bin/env bash
# The test suite under load: starts BUSY busy loops (default 2, one per core of a 2-core machine),
# runs the whole suite RUNS times in a row (default 5), stops the loops, and prints each run's
# result and wall time. Exit 0 only if every run passed.
#
#   scripts/load_test_suite.sh                  # 5 runs, 2 busy loops, python3 on PATH
#   RUNS=3 BUSY=2 PYTHON=/path/to/venv/bin/python scripts/load_test_suite.sh -k scheduler
#
# Extra arguments go to pytest. Each run's output is kept in $LOG_DIR (a temporary directory).
set -uo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
BUSY=${BUSY:-2}
PYTHON=${PYTHON:-python3}
LOG_DIR=${LOG_DIR:-$(mktemp -d -t mesoclaw-load.XXXXXX)}
mkdir -p "$LOG_DIR"

busy_pids=()
stop_busy() {
    for pid in "${busy_pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${busy_pids[@]}"; do
        wait "$pid" 2>/dev/null
    done
    busy_pids=()
}
trap stop_busy EXIT
trap 'stop_busy; exit 130' INT TERM

for _ in $(seq "$BUSY"); do
    python3 -c 'while True: pass' &
    busy_pids+=($!)
done

echo "load run: $(nproc) cores, $BUSY busy loops, $RUNS runs, $(date -u '+%Y-%m-%d %H:%M UTC'), logs in $LOG_DIR"
failed=0
summary=()
for run in $(seq "$RUNS"); do
    log="$LOG_DIR/run-$run.log"
    started=$(date +%s)
    "$PYTHON" -m pytest -q -p no:cacheprovider "$@" >"$log" 2>&1
    code=$?
    seconds=$(( $(date +%s) - started ))
    result=$(grep -E '^(=+ )?[0-9]+ (passed|failed)|^[0-9]+ (passed|failed)|(passed|failed|error).* in [0-9.]+s' "$log" | tail -1)
    verdict=$([ "$code" -eq 0 ] && echo pass || echo FAIL)
    line=$(printf 'run %d: %s in %dm%02ds (%s)' "$run" "$verdict" $((seconds / 60)) $((seconds % 60)) "${result//=/}")
    summary+=("$line")
    echo "$line"
    if [ "$code" -ne 0 ]; then
        failed=$((failed + 1))
        grep -E '^(FAILED|ERROR) ' "$log" | sed 's/^/    /'
    fi
done
stop_busy
echo "----"
printf '%s\n' "${summary[@]}"
echo "$((RUNS - failed)) of $RUNS runs passed"
[ "$failed" -eq 0 ]
