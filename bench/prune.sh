#!/usr/bin/env bash
# Benchmark of `ken prune`: wall time, peak memory and .ken size, for arctic-xs against minilm
# (both from NuGet) and for a synthetic pair with bert-base-uncased shapes (generated here).
# Usage: bench/prune.sh [OUT_DIR]   — prints a Markdown table and writes it to OUT_DIR/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench/out/prune}"
mkdir -p "$out"

source bench/lib.sh
build_release
dotnet build bench/Ken.Perf -c Release -o "$out/bin/bench" -v q -nologo >/dev/null

if [ ! -f "$out/bert/base.safetensors" ]; then
  echo "generating the synthetic bert-base-shaped pair..." >&2
  dotnet "$out/bin/bench/ken-perf.dll" gen-bert-base "$out/bert"
fi

# Resolve the default models once, so their extraction is not part of a timed run.
ken prune --base minilm --finetuned arctic-xs --k 1 --include embeddings.LayerNorm.bias -o "$out/warm.ken" >/dev/null
cache="${KEN_MODEL_CACHE:-${XDG_DATA_HOME:-$HOME/.local/share}/ken/models}"
minilm_bytes=$(stat -c %s "$cache"/minilm-*/model.onnx)
arctic_bytes=$(stat -c %s "$cache"/arctic-xs-*/model.onnx)
bert_bytes=$(( $(stat -c %s "$out/bert/base.safetensors") + $(stat -c %s "$out/bert/finetuned/model.safetensors") ))

measure() { # label inputs_bytes dense_value_bytes params keep args...
  local label=$1 inputs=$2 dense=$3 params=$4 keep=$5; shift 5
  # CPU time stolen by the hypervisor (the 8th field of /proc/stat's cpu line, in clock ticks)
  # counts against the wall time on a shared VM; report it beside the wall time.
  local steal_before; steal_before=$(awk '/^cpu / { print $9 }' /proc/stat)
  /usr/bin/time -f "%e %M %U %S" -o "$out/time.txt" dotnet "$out/bin/ken/ken.dll" prune "$@" >/dev/null
  local steal_after; steal_after=$(awk '/^cpu / { print $9 }' /proc/stat)
  read -r wall rss_kib user sys < "$out/time.txt"
  local cpu; cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
  local stolen; stolen=$(awk -v a="$steal_before" -v b="$steal_after" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz }')
  local ken_file="${*: -1}"
  local size; size=$(stat -c %s "$ken_file")
  # Target: at most keep x value bytes + 1/8 byte per parameter + 1 %.
  local target; target=$(awk -v k="$keep" -v d="$dense" -v p="$params" 'BEGIN { printf "%.0f", (k * d + p / 8) * 1.01 }')
  awk -v l="$label" -v w="$wall" -v c="$cpu" -v st="$stolen" -v r="$rss_kib" -v i="$inputs" -v s="$size" -v d="$dense" -v t="$target" 'BEGIN {
    printf "| %s | %.1f | %s | %s | %.0f | %.2f | %.1f | %.1f | %.1f | %s |\n", l, w, c, st, r / 1024, (r * 1024) / i, s / 1048576, d / 1048576, t / 1048576, (s <= t ? "yes" : "NO") }'
}

# Dense fine-tuned value bytes of the patched tensors (float32): from the model itself.
arctic_params=$(ken prune --base minilm --finetuned arctic-xs --keep 1 -o "$out/full.ken" >/dev/null && ken inspect "$out/full.ken" --json | grep -o '"patched_parameters": [0-9]*' | grep -o '[0-9]*')

{
  echo "| run | wall s | CPU s | stolen s | peak RSS MiB | peak / inputs | .ken MiB | dense MiB | size target MiB | size ok |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for keep in 0.25 0.5 0.75; do
    measure "arctic-xs vs minilm, keep $keep" $((minilm_bytes + arctic_bytes)) $((arctic_params * 4)) "$arctic_params" "$keep" \
      --base minilm --finetuned arctic-xs --keep "$keep" -o "$out/arctic-$keep.ken"
  done
  bert_params=$(ken prune --base "$out/bert/base.safetensors" --finetuned "$out/bert/finetuned" --keep 1 -o "$out/bert-full.ken" >/dev/null && ken inspect "$out/bert-full.ken" --json | grep -o '"patched_parameters": [0-9]*' | grep -o '[0-9]*')
  for keep in 0.25 0.5 0.75; do
    measure "bert-base-shaped synthetic, keep $keep" "$bert_bytes" $((bert_params * 4)) "$bert_params" "$keep" \
      --base "$out/bert/base.safetensors" --finetuned "$out/bert/finetuned" --keep "$keep" -o "$out/bert-$keep.ken"
  done
  measure "bert-base-shaped synthetic, k 384 (paper style)" "$bert_bytes" $((bert_params * 4)) "$bert_params" 0.5 \
    --base "$out/bert/base.safetensors" --finetuned "$out/bert/finetuned" --k 384 -o "$out/bert-k384.ken"
} | tee "$out/results.md"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" | tee -a "$out/results.md"
