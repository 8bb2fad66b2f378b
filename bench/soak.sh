#!/usr/bin/env bash
# Soak: mixed Classify/Embed load (ken bench, closed loop) for DURATION seconds while a loop registers,
# overwrites and unregisters tasks every few seconds. Reports unexpected errors (every failed request or
# registry call) and the slope of the server's RSS, threads and open files after the warm-up.
# Prints a Markdown section and writes it to OUT_DIR/results.md (samples in OUT_DIR/samples.tsv).
#
# Usage: bench/soak.sh [OUT_DIR]
# Environment (defaults): DURATION=600 WARMUP=60 CONCURRENCY=8 CHURN_EVERY=3 SAMPLE_EVERY=5 KEEP=0.1
#   CLASSIFIER=../shared/fixtures/classifiers/spam (a fine-tuned classifier; without it only Embed runs)
#   SERVER_ARGS= PORT=5795 START_TIMEOUT=180
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mkdir -p "${1:-bench/out/soak}" && cd "${1:-bench/out/soak}" && pwd)"
duration=${DURATION:-600}; warmup=${WARMUP:-60}; concurrency=${CONCURRENCY:-8}; churn_every=${CHURN_EVERY:-3}
sample_every=${SAMPLE_EVERY:-5}; keep=${KEEP:-0.1}; classifier=${CLASSIFIER:-../shared/fixtures/classifiers/spam}
port=${PORT:-5795}; mport=$((port + 1)); start_timeout=${START_TIMEOUT:-180}
server_args=(${SERVER_ARGS:-})
server="http://127.0.0.1:$port"; metrics="http://127.0.0.1:$mport/metrics"
token="soak-bench-token-$(date +%s)-$$"

source bench/lib.sh
build_release server

emb="$out/arctic-keep$keep.ken"; emb2="$out/arctic-keep0.05.ken"
[ -f "$emb" ] || ken prune --base minilm --finetuned arctic-xs --keep "$keep" --method magnitude --pooling cls --normalize -o "$emb" >/dev/null
[ -f "$emb2" ] || ken prune --base minilm --finetuned arctic-xs --keep 0.05 --method magnitude --pooling cls --normalize -o "$emb2" >/dev/null
cls=""; cls2=""
if [ -d "$classifier" ]; then
  cls="$out/classifier-keep0.1.ken"; cls2="$out/classifier-keep0.05.ken"
  [ -f "$cls" ] || ken prune --base minilm --finetuned "$classifier" --keep 0.1 --method magnitude -o "$cls" >/dev/null
  [ -f "$cls2" ] || ken prune --base minilm --finetuned "$classifier" --keep 0.05 --method magnitude -o "$cls2" >/dev/null
fi

data="$out/data"; rm -rf "$data"; mkdir -p "$data"
"$out/bin/server/Ken.Server" --swap-mode patch "${server_args[@]}" --urls "$server" --metrics-urls "http://127.0.0.1:$mport" \
  --data-dir "$data" --admin-token "$token" >"$out/server.log" 2>&1 &
pid=$!
churner=""; sampler=""
trap 'kill $churner $sampler 2>/dev/null || true; kill "$pid" 2>/dev/null || true' EXIT
require_healthy "$server" "$pid" "$start_timeout" "$out/server.log"
reg() { ken register "$@" --server "$server" --token "$token" >/dev/null; }
reg "$emb" --task soak-emb
tasks=soak-emb
if [ -n "$cls" ]; then reg "$cls" --task soak-cls; tasks=soak-emb,soak-cls; fi

# The churn: overwrite a served task (alternating its two versions), register a new task, unregister it.
: >"$out/churn-errors.txt"
(
  i=0
  while true; do
    sleep "$churn_every"
    case $((i % 3)) in
      0) if [ -n "$cls" ] && [ $((i % 2)) -eq 0 ]; then f=$cls; [ $(((i / 3) % 2)) -eq 0 ] && f=$cls2; reg "$f" --task soak-cls --overwrite
         else f=$emb; [ $(((i / 3) % 2)) -eq 0 ] && f=$emb2; reg "$f" --task soak-emb --overwrite; fi ;;
      1) reg "$emb2" --task "churn-$i" ;;
      2) ken unregister "churn-$((i - 1))" --server "$server" --token "$token" >/dev/null ;;
    esac 2>>"$out/churn-errors.txt" || echo "step $i failed" >>"$out/churn-errors.txt"
    echo "$i" >"$out/churn-count.txt"
    i=$((i + 1))
  done
) &
churner=$!

# Samples: seconds, RSS MiB, threads, open files.
start=$(date +%s)
(
  while true; do
    awk -v t="$(( $(date +%s) - start ))" -v fds="$(ls "/proc/$pid/fd" | wc -l)" \
      '/^VmRSS:/ {rss=$2/1024} /^Threads:/ {th=$2} END {printf "%d\t%.1f\t%d\t%d\n", t, rss, th, fds}' "/proc/$pid/status"
    sleep "$sample_every"
  done
) >"$out/samples.tsv" &
sampler=$!

ken bench --server "$server" --token "$token" --metrics-url "$metrics" --tasks "$tasks" --concurrency "$concurrency" \
  --duration "$duration" --warmup 0 --json "$out/load.json" >/dev/null || true
kill $churner $sampler 2>/dev/null || true

slope() { # column: least-squares slope per minute over samples after the warm-up
  awk -v c="$1" -v w="$warmup" '$1 >= w {n++; x=$1/60; y=$c; sx+=x; sy+=y; sxy+=x*y; sxx+=x*x}
    END {d = n*sxx - sx*sx; if (n < 2 || d == 0) print "n/a"; else printf "%.2f", (n*sxy - sx*sy) / d}' "$out/samples.tsv"
}
range() { awk -v c="$1" -v w="$warmup" '$1 >= w {if (!n++) a=$c; b=$c} END {print a " → " b}' "$out/samples.tsv"; }
churn_steps=$(( $(cat "$out/churn-count.txt" 2>/dev/null || echo -1) + 1 ))
churn_failures=$(grep -c "failed" "$out/churn-errors.txt" || true)
{
  echo "## Soak: ${duration} s of mixed load with registry churn ($(date -u +%Y-%m-%d))"
  echo
  echo "Command: \`DURATION=$duration WARMUP=$warmup CONCURRENCY=$concurrency CHURN_EVERY=$churn_every SERVER_ARGS=\"${SERVER_ARGS:-}\" bench/soak.sh\`"
  echo "Machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) cores (shared). minilm, --swap-mode patch; tasks $tasks; a registry change every ${churn_every} s (overwrite a served task, register a new one, unregister it)."
  echo
  echo "| measure | value |"
  echo "|---|---:|"
  echo "| requests answered / failed | $(jq -r '"\(.responses) / \(.errors)"' "$out/load.json") |"
  echo "| failures by status | $(jq -r 'if (.errors_by_status | length) == 0 then "none" else (.errors_by_status | to_entries | map("\(.key) \(.value)") | join(", ")) end' "$out/load.json") |"
  echo "| registry changes / failed | $churn_steps / $churn_failures |"
  echo "| p50 / p99 latency | $(jq -r '"\(.latency_ms.p50 * 10 | round / 10) / \(.latency_ms.p99 * 10 | round / 10) ms"' "$out/load.json") |"
  echo "| RSS after warm-up (first → last), slope | $(range 2) MiB, $(slope 2) MiB/min |"
  echo "| threads, slope | $(range 3), $(slope 3) /min |"
  echo "| open files, slope | $(range 4), $(slope 4) /min |"
} | tee "$out/results.md"
