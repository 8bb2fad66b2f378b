#!/usr/bin/env bash
# Many tasks on one backbone: the same load against three servers, one per --swap-mode (patch,
# reload, resident), plus a single-task run on patch as the no-swap reference. Prints one
# side-by-side Markdown table and writes it to OUT_DIR/results.md.
#
# Usage: bench/multitask.sh [OUT_DIR]
# Environment (defaults): TASKS=20 ZIPF=1.0 CONCURRENCY=16 DURATION=10 WARMUP=2 BATCH=1
#   KEEPS="0.05 0.1 0.2 0.3" (arctic-xs deltas)  SLOTS= (empty: the server's --slot-memory decides)
#   SERVER_ARGS= (extra server flags, e.g. "--executors 1")  BASE_PORT=5700  START_TIMEOUT=180
#   CLASSIFIERS=../shared/fixtures/classifiers (spam and sotu-party are added when present)
#   HOST_DELTA_BUDGET=8GB (every mode keeps all bound tasks in host memory, so resident is a true upper bound)
#   MODES="patch reload resident" (a subset runs only those servers; patch always adds the single-task run)
#   PRUNE_ARGS= (extra `ken prune` flags for every delta, e.g. "--block 16"; the delta files are named for them)
# A mode whose server does not start (or fails mid-run) is recorded in the table, not fatal.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mkdir -p "${1:-bench/out/multitask}" && cd "${1:-bench/out/multitask}" && pwd)"
tasks=${TASKS:-20}; zipf=${ZIPF:-1.0}; concurrency=${CONCURRENCY:-16}
duration=${DURATION:-10}; warmup=${WARMUP:-2}; batch=${BATCH:-1}; slots=${SLOTS:-}
server_args=(${SERVER_ARGS:-}); [ -n "$slots" ] && server_args+=(--slots "$slots")
prune_args=(${PRUNE_ARGS:-}); suffix=$(echo "${PRUNE_ARGS:-}" | tr -c 'A-Za-z0-9.\n' '_')
keeps=${KEEPS:-"0.05 0.1 0.2 0.3"}; base_port=${BASE_PORT:-5700}; start_timeout=${START_TIMEOUT:-180}
classifiers=${CLASSIFIERS:-../shared/fixtures/classifiers}
token="multitask-bench-token-$(date +%s)-$$"

source bench/lib.sh
build_release server

# The deltas: arctic-xs against minilm at several keeps (fast magnitude selection), plus the real
# classifiers. The 20 task names cycle over these few files.
mkdir -p "$out/deltas"
deltas=()
for keep in $keeps; do
  f="$out/deltas/arctic-keep$keep$suffix.ken"
  [ -f "$f" ] || ken prune --base minilm --finetuned arctic-xs --keep "$keep" --method magnitude --pooling cls --normalize "${prune_args[@]}" -o "$f" >/dev/null
  deltas+=("$f")
done
for name in spam sotu-party; do
  if [ -d "$classifiers/$name" ]; then
    f="$out/deltas/$name$suffix.ken"
    [ -f "$f" ] || ken prune --base minilm --finetuned "$classifiers/$name" --keep 0.1 --method magnitude "${prune_args[@]}" -o "$f" >/dev/null
    deltas+=("$f")
  fi
done
echo "deltas: ${#deltas[@]} files for $tasks task names" >&2

pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

rss_kib() { # peak resident set of a process, KiB (VmHWM, else VmRSS)
  awk '/^VmHWM:/ {print $2; found=1; exit} /^VmRSS:/ {rss=$2} END {if (!found && rss) print rss}' "/proc/$1/status" 2>/dev/null || echo ""
}

# One row of results per run: label, status, JSON report file, RSS KiB.
rows=()
run_mode() { # mode index
  local mode=$1 i=$2
  local port=$((base_port + i)) mport=$((base_port + 100 + i))
  local server="http://127.0.0.1:$port" metrics="http://127.0.0.1:$mport/metrics"
  local data="$out/data-$mode"; rm -rf "$data"; mkdir -p "$data"
  "$out/bin/server/Ken.Server" --swap-mode "$mode" "${server_args[@]}" --urls "$server" --metrics-urls "http://127.0.0.1:$mport" \
    --data-dir "$data" --admin-token "$token" --host-delta-budget "${HOST_DELTA_BUDGET:-8GB}" >"$out/server-$mode.log" 2>&1 &
  local pid=$!; pids+=("$pid")
  local healthy=0
  wait_healthy "$server" "$pid" "$start_timeout" || healthy=$?
  if [ "$healthy" -eq 1 ]; then
    rows+=("$mode|did not start: $( (grep -m1 '^ken-server:' "$out/server-$mode.log" || grep -v '^\s*$' "$out/server-$mode.log" | tail -n 1 || echo exited) | cut -c1-160 | tr '|' '/')||")
    return 0
  elif [ "$healthy" -ne 0 ]; then
    rows+=("$mode|did not become healthy within ${start_timeout}s||"); kill "$pid" 2>/dev/null || true; return 0
  fi

  local t
  for ((t = 0; t < tasks; t++)); do
    local name; name=$(printf "mt-%02d" "$t")
    if ! ken register "${deltas[$((t % ${#deltas[@]}))]}" --task "$name" --overwrite --server "$server" --token "$token" >/dev/null 2>"$out/register-$mode.err"; then
      rows+=("$mode|register failed: $(head -c 160 "$out/register-$mode.err" | tr '|\n' '/ ')||"); kill "$pid"; wait "$pid" 2>/dev/null || true; return 0
    fi
  done

  bench() { # label json args...
    local label=$1 json=$2; shift 2
    local file=${label//[^a-z0-9-]/_}
    if ken bench --server "$server" --token "$token" --metrics-url "$metrics" --concurrency "$concurrency" --batch "$batch" \
         --duration "$duration" --warmup "$warmup" --json "$json" "$@" >"$out/bench-$file.txt" 2>"$out/bench-$file.err"; then
      rows+=("$label|ok|$json|$(rss_kib "$pid")")
    else
      rows+=("$label|bench failed: $(head -c 160 "$out/bench-$file.err" | tr '|\n' '/ ')||$(rss_kib "$pid")")
    fi
  }

  bench "$mode" "$out/$mode.json" --tasks-prefix mt- --zipf "$zipf"
  if [ "$mode" = patch ]; then
    bench "patch, 1 task" "$out/patch-single.json" --tasks mt-00
  fi
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
}

i=0
for mode in ${MODES:-patch reload resident}; do run_mode "$mode" "$i" || rows+=("$mode|script error||"); i=$((i + 1)); done

{
  echo "## Many tasks on one backbone ($(date -u +%Y-%m-%d))"
  echo
  echo "$tasks tasks over ${#deltas[@]} deltas, Zipf $zipf, closed loop, concurrency $concurrency, batch $batch, ${duration}s after ${warmup}s warm-up, slots ${slots:-by --slot-memory}, server flags \`${SERVER_ARGS:-none}\`, $(nproc) CPU cores."
  echo "Command: \`MODES=\"${MODES:-patch reload resident}\" TASKS=$tasks ZIPF=$zipf CONCURRENCY=$concurrency DURATION=$duration BATCH=$batch SLOTS=$slots SERVER_ARGS=\"${SERVER_ARGS:-}\" PRUNE_ARGS=\"${PRUNE_ARGS:-}\" bench/multitask.sh\`"
  echo
  echo "| run | status | req/s | texts/s | p50 ms | p99 ms | errors | swaps/s | slot hit rate | server peak RSS |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for row in "${rows[@]}"; do
    IFS='|' read -r label status json rss <<<"$row"
    mem="-"; [ -n "$rss" ] && mem="$((rss / 1024)) MiB"
    if [ "$status" = ok ]; then
      jq -r --arg l "$label" --arg m "$mem" '"| \($l) | ok | \(.throughput_rps*10|round/10) | \(.texts_per_second*10|round/10) | \(.latency_ms.p50*100|round/100) | \(.latency_ms.p99*100|round/100) | \(.errors) | \(if .server_counters then (.server_counters.swaps_per_second*10|round/10) else "n/a" end) | \(if .server_counters.slot_hit_rate then ((.server_counters.slot_hit_rate*1000|round/10|tostring) + " %") else "n/a" end) | \($m) |"' "$json"
    else
      echo "| $label | $status | - | - | - | - | - | - | - | $mem |"
    fi
  done
} | tee "$out/results.md"
