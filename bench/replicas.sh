#!/usr/bin/env bash
# Several replicas behind HAProxy: the same Zipf load over TASKS tasks through the same proxy, once
# with task-affine routing (deploy/haproxy/haproxy.cfg as shipped: consistent hashing on ken-task)
# and once with round robin (the same file with "balance roundrobin" in the inference backend).
# Prints one side-by-side Markdown table (aggregate over the replicas) and writes OUT_DIR/results.md.
#
# Usage: bench/replicas.sh [OUT_DIR]
# Environment (defaults): REPLICAS=3 TASKS=60 ZIPF=1.0 CONCURRENCY=16 DURATION=20 WARMUP=5 BATCH=1
#   KEEPS="0.05 0.1 0.2 0.3" (arctic-xs deltas the task names cycle over)  SERVER_ARGS= (extra flags)
#   BASE_PORT=5800  START_TIMEOUT=300  MODES="hash roundrobin"
# Needs haproxy (apt-get install haproxy), jq and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mkdir -p "${1:-bench/out/replicas}" && cd "${1:-bench/out/replicas}" && pwd)"
replicas=${REPLICAS:-3}; tasks=${TASKS:-60}; zipf=${ZIPF:-1.0}; concurrency=${CONCURRENCY:-16}
duration=${DURATION:-20}; warmup=${WARMUP:-5}; batch=${BATCH:-1}; server_args=(${SERVER_ARGS:-})
keeps=${KEEPS:-"0.05 0.1 0.2 0.3"}; base_port=${BASE_PORT:-5800}; start_timeout=${START_TIMEOUT:-300}
token="replicas-bench-token-$(date +%s)-$$"
command -v haproxy >/dev/null || { echo "bench/replicas.sh: haproxy is not installed (apt-get install -y haproxy)" >&2; exit 2; }

source bench/lib.sh
build_release server

mkdir -p "$out/deltas"
deltas=()
for keep in $keeps; do
  f="$out/deltas/arctic-keep$keep.ken"
  [ -f "$f" ] || ken prune --base minilm --finetuned arctic-xs --keep "$keep" --method magnitude --pooling cls --normalize -o "$f" >/dev/null
  deltas+=("$f")
done

pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# The replicas: own data directory and ports each, one shared --registry-dir; every task registered once, through replica 1.
servers=""
rm -rf "$out/registry"; mkdir -p "$out/registry"
for ((r = 1; r <= replicas; r++)); do
  port=$((base_port + r)); mport=$((base_port + 100 + r))
  rm -rf "$out/data-$r"; mkdir -p "$out/data-$r"
  "$out/bin/server/Ken.Server" "${server_args[@]}" --urls "http://127.0.0.1:$port" --metrics-urls "http://127.0.0.1:$mport" \
    --data-dir "$out/data-$r" --registry-dir "$out/registry" --admin-token "$token" >"$out/server-$r.log" 2>&1 &
  pids+=("$!")
  servers+="    server r$r 127.0.0.1:$port port $mport"$'\n'
done
for ((r = 1; r <= replicas; r++)); do
  require_healthy "http://127.0.0.1:$((base_port + r))" "${pids[$((r - 1))]}" "$start_timeout" "$out/server-$r.log"
done
for ((t = 0; t < tasks; t++)); do
  ken register "${deltas[$((t % ${#deltas[@]}))]}" --task "$(printf "rt-%02d" "$t")" --overwrite \
    --server "http://127.0.0.1:$((base_port + 1))" --token "$token" >/dev/null
done

# Sum of a counter over the replicas.
scrape() { # metric
  local total=0 r v
  for ((r = 1; r <= replicas; r++)); do
    v=$(curl -s "http://127.0.0.1:$((base_port + 100 + r))/metrics" | awk -v m="$1" '$1 ~ "^"m"({|$)" {s += $2} END {printf "%.0f", s}')
    total=$((total + v))
  done
  echo "$total"
}

rows=()
proxy_port=$((base_port + 50)); stats_port=$((base_port + 51))
for mode in ${MODES:-hash roundrobin}; do
  cfg="$out/haproxy-$mode.cfg"
  SERVERS="$servers" MODE="$mode" python3 - deploy/haproxy/haproxy.cfg "$cfg" <<'EOF'
import os, re, sys
s = open(sys.argv[1]).read()
s = re.sub(r"(    # @servers\n).*?(    # @end\n)", lambda m: m.group(1) + os.environ["SERVERS"] + m.group(2), s, flags=re.S)
if os.environ["MODE"] == "roundrobin":
    s = re.sub(r"    balance hdr\(ken-task\)\n", "    balance roundrobin\n", s)
    s = re.sub(r"    hash-type consistent.*\n", "", s)
    s = re.sub(r"    hash-balance-factor.*\n", "", s)
open(sys.argv[2], "w").write(s)
EOF
  KEN_PROXY_BIND="127.0.0.1:$proxy_port" KEN_PROXY_STATS_BIND="127.0.0.1:$stats_port" haproxy -W -db -f "$cfg" >"$out/haproxy-$mode.log" 2>&1 &
  hpid=$!; pids+=("$hpid")
  until curl -sf "http://127.0.0.1:$stats_port/healthz" >/dev/null; do kill -0 "$hpid" || { echo "haproxy did not start; see $out/haproxy-$mode.log" >&2; exit 1; }; sleep 0.2; done

  # Counters are read around the whole run (warm-up included), so the rates below span warm-up + measurement.
  s0=$(scrape ken_swaps_total); h0=$(scrape ken_slot_hits_total); b0=$(scrape ken_batch_size_count); t0=$(date +%s.%N)
  ken bench --server "http://127.0.0.1:$proxy_port" --token "$token" --metrics-url none --tasks-prefix rt- --zipf "$zipf" \
    --concurrency "$concurrency" --batch "$batch" --duration "$duration" --warmup "$warmup" --json "$out/$mode.json" >"$out/bench-$mode.txt" 2>"$out/bench-$mode.err"
  t1=$(date +%s.%N); s1=$(scrape ken_swaps_total); h1=$(scrape ken_slot_hits_total); b1=$(scrape ken_batch_size_count)
  rows+=("$mode|$(jq -r '"\(.throughput_rps*10|round/10)|\(.latency_ms.p50*100|round/100)|\(.latency_ms.p99*100|round/100)|\(.errors)"' "$out/$mode.json")|$(awk -v s=$((s1 - s0)) -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", s / (b - a)}')|$(awk -v h=$((h1 - h0)) -v n=$((b1 - b0)) 'BEGIN {printf "%.1f %%", n ? 100 * h / n : 0}')")
  kill "$hpid"; wait "$hpid" 2>/dev/null || true
done

{
  echo "## $replicas replicas behind HAProxy: task-affine hashing vs round robin ($(date -u +%Y-%m-%d))"
  echo
  echo "$tasks tasks over ${#deltas[@]} deltas, Zipf $zipf, closed loop, concurrency $concurrency, batch $batch, ${duration}s after ${warmup}s warm-up, server flags \`${SERVER_ARGS:-none}\`, $replicas replicas on one machine with $(nproc) CPU cores."
  echo "Command: \`REPLICAS=$replicas TASKS=$tasks ZIPF=$zipf CONCURRENCY=$concurrency DURATION=$duration WARMUP=$warmup BATCH=$batch bench/replicas.sh\`"
  echo
  echo "| routing | req/s | p50 ms | p99 ms | errors | swaps/s (all replicas) | slot hit rate (all replicas) |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for row in "${rows[@]}"; do echo "| ${row//|/ | } |"; done
} | tee "$out/results.md"
