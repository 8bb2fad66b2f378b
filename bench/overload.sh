#!/usr/bin/env bash
# Overload: open-loop load at 4x the server's measured capacity. Reports failures by status (only
# RESOURCE_EXHAUSTED is expected), the p99 latency of admitted requests against --max-queue-wait-ms plus
# one batch, the server's RSS before and after, and the latency right after the load against unloaded.
# Prints a Markdown section and writes it to OUT_DIR/results.md.
#
# Usage: bench/overload.sh [OUT_DIR]
# Environment (defaults): MAX_WAIT_MS=2000 FACTOR=4 DURATION=30 BATCH=1 MAX_BATCH=32 EXECUTORS=min(cores,4) KEEP=0.1
#   CAPACITY_DURATION=10 CAPACITY_CONCURRENCY=64 (enough callers to fill batches as the overload does) SERVER_ARGS= PORT=5790 START_TIMEOUT=180
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mkdir -p "${1:-bench/out/overload}" && cd "${1:-bench/out/overload}" && pwd)"
max_wait=${MAX_WAIT_MS:-2000}; factor=${FACTOR:-4}; duration=${DURATION:-30}; batch=${BATCH:-1}
max_batch=${MAX_BATCH:-32}; executors=${EXECUTORS:-$(( $(nproc) < 4 ? $(nproc) : 4 ))}; keep=${KEEP:-0.1}; cap_duration=${CAPACITY_DURATION:-10}; cap_conc=${CAPACITY_CONCURRENCY:-64}
port=${PORT:-5790}; mport=$((port + 1)); start_timeout=${START_TIMEOUT:-180}
server_args=(${SERVER_ARGS:-})
server="http://127.0.0.1:$port"; metrics="http://127.0.0.1:$mport/metrics"
token="overload-bench-token-$(date +%s)-$$"

source bench/lib.sh
build_release server

delta="$out/arctic-keep$keep.ken"
[ -f "$delta" ] || ken prune --base minilm --finetuned arctic-xs --keep "$keep" --method magnitude --pooling cls --normalize -o "$delta" >/dev/null

data="$out/data"; rm -rf "$data"; mkdir -p "$data"
"$out/bin/server/Ken.Server" --swap-mode patch --executors "$executors" --max-batch "$max_batch" --max-queue-wait-ms "$max_wait" "${server_args[@]}" \
  --urls "$server" --metrics-urls "http://127.0.0.1:$mport" --data-dir "$data" --admin-token "$token" >"$out/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
require_healthy "$server" "$pid" "$start_timeout" "$out/server.log"
ken register "$delta" --task overload --server "$server" --token "$token" >/dev/null

rss_mib() { awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status"; }
bench() { # json args...
  local json=$1; shift
  ken bench --server "$server" --token "$token" --metrics-url "$metrics" --tasks overload --batch "$batch" --json "$json" "$@" >/dev/null
}

# Unloaded latency (one caller), then capacity: a closed loop (enough callers to fill batches) gives a first
# figure (too low when callers cannot fill batches); an open loop offered 3x that, shedding what it cannot
# take, answers at what the server can serve while refusing.
bench "$out/unloaded.json" --concurrency 1 --duration 5 --warmup 1
bench "$out/closed.json" --concurrency "$cap_conc" --duration "$cap_duration" --warmup 2
probe=$(jq '.throughput_rps * 3' "$out/closed.json")
bench "$out/capacity.json" --rate "$probe" --duration "$cap_duration" --warmup 2
# Capacity: the larger of the two (refusing at a high rate costs CPU that the client shares here).
capacity=$(jq -s 'map(.throughput_rps) | max' "$out/closed.json" "$out/capacity.json")
rate=$(jq -n --argjson c "$capacity" --argjson f "$factor" '$c * $f')

# The server's own measure of queue waits: its ken_queue_wait_seconds histogram, before and after the load.
waits() { curl -sf "$metrics" | awk '/^ken_queue_wait_seconds_bucket/ && /le="(1|2|2.5|5|\+Inf)"/ {match($0, /le="[^"]+"/); le=substr($0, RSTART+4, RLENGTH-5); n[le]+=$NF} END {printf "%d %d %d %d %d\n", n["1"], n["2"], n["2.5"], n["5"], n["+Inf"]}'; }
# Refusals by reason (ken_shed_total{reason}): at admission by estimate, or after waiting past the limit.
sheds() { curl -sf "$metrics" | awk '/^ken_shed_total/ {match($0, /reason="[^"]+"/); r=substr($0, RSTART+8, RLENGTH-9); n[r]+=$NF} END {printf "%d %d %d\n", n["estimated_wait"], n["waited"], n["queue_full"]}'; }
read -r est_before late_before full_before < <(sheds)
rss_before=$(rss_mib)
read -r w1_before w2_before w25_before w5_before wall_before < <(waits)
bench "$out/overload.json" --rate "$rate" --duration "$duration" --warmup 0
read -r w1_after w2_after w25_after w5_after wall_after < <(waits)
rss_after=$(rss_mib)
read -r est_after late_after full_after < <(sheds)
queued=$((wall_after - wall_before))
# One batch: a full batch on one executor while the others run too, at the rate the server answered during
# the overload (refusing takes CPU from the batches on a shared machine); and at the unloaded capacity.
batch_ms=$(jq -n --argjson t "$(jq .texts_per_second "$out/overload.json")" --argjson b "$max_batch" --argjson e "$executors" '$b * $e / $t * 1000')
batch_capacity_ms=$(jq -n --argjson t "$(jq -s 'map(.texts_per_second) | max' "$out/closed.json" "$out/capacity.json")" --argjson b "$max_batch" --argjson e "$executors" '$b * $e / $t * 1000')
share() { jq -n --argjson a "$1" --argjson n "$queued" 'if $n == 0 then "n/a" else ($a / $n * 1000 | round / 10 | tostring) + " %" end' -r; }
bench "$out/after.json" --concurrency 1 --duration 5 --warmup 0

p99=$(jq '.latency_ms.p99' "$out/overload.json")
bound=$(jq -n --argjson w "$max_wait" --argjson b "$batch_ms" '$w + $b')
within=$(jq -rn --argjson p "$p99" --argjson b "$bound" 'if $p <= $b then "yes" else "no" end')
r1() { jq -r "$1 * 10 | round / 10" "$2"; }
{
  echo "## Overload: open loop at ${factor}x capacity ($(date -u +%Y-%m-%d))"
  echo
  echo "Command: \`MAX_WAIT_MS=$max_wait FACTOR=$factor EXECUTORS=$executors DURATION=$duration BATCH=$batch MAX_BATCH=$max_batch SERVER_ARGS=\"${SERVER_ARGS:-}\" bench/overload.sh\`"
  echo "Machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) cores (shared). minilm, --swap-mode patch, one task (arctic-xs delta, keep $keep), batch $batch text(s) per request; ken bench on the same machine."
  echo
  echo "| measure | value |"
  echo "|---|---:|"
  echo "| capacity (the larger): closed loop ($cap_conc callers); open loop at 3x that, answered | $(r1 .throughput_rps "$out/closed.json") req/s; $(r1 .throughput_rps "$out/capacity.json") req/s ($(jq .errors "$out/capacity.json") shed) |"
  echo "| offered (open loop, Poisson) | $(jq -n --argjson r "$rate" '$r * 10 | round / 10') req/s for ${duration} s |"
  echo "| sent / answered / refused | $(jq -r '"\(.requests) / \(.responses) / \(.errors)"' "$out/overload.json") |"
  echo "| refused by the server: at admission (estimate) / after waiting past the limit / queue full | $((est_after - est_before)) / $((late_after - late_before)) / $((full_after - full_before)) |"
  echo "| failures by status | $(jq -r 'if (.errors_by_status | length) == 0 then "none" else (.errors_by_status | to_entries | map("\(.key) \(.value)") | join(", ")) end' "$out/overload.json") |"
  echo "| admitted p50 / p99 / max | $(r1 .latency_ms.p50 "$out/overload.json") / $(r1 .latency_ms.p99 "$out/overload.json") / $(r1 .latency_ms.max "$out/overload.json") ms |"
  echo "| bound: --max-queue-wait-ms + one batch ($max_batch texts on one of $executors executors at the rate answered under the load: $(jq -n --argjson b "$batch_ms" '$b * 10 | round / 10') ms; at the capacity's rate it would be $(jq -n --argjson b "$batch_capacity_ms" '$b * 10 | round / 10') ms) | $(jq -n --argjson b "$bound" '$b * 10 | round / 10') ms; p99 within: $within |"
  echo "| server-measured queue wait of the $queued requests admitted and run: ≤ 1 s / ≤ 2 s / ≤ 2.5 s / ≤ 5 s | $(share $((w1_after - w1_before))) / $(share $((w2_after - w2_before))) / $(share $((w25_after - w25_before))) / $(share $((w5_after - w5_before))) |"
  echo "| client fell behind its schedule | $(jq -r '.client_lag | "\(.fell_behind) (max lag \(.max_lag_ms * 10 | round / 10) ms, dropped \(.dropped))"' "$out/overload.json") |"
  echo "| server RSS before / after the load | $rss_before / $rss_after MiB |"
  echo "| one caller, unloaded: p50 / p99 | $(r1 .latency_ms.p50 "$out/unloaded.json") / $(r1 .latency_ms.p99 "$out/unloaded.json") ms |"
  echo "| one caller, right after the load: p50 / p99 / errors | $(r1 .latency_ms.p50 "$out/after.json") / $(r1 .latency_ms.p99 "$out/after.json") ms / $(jq .errors "$out/after.json") |"
} | tee "$out/results.md"
