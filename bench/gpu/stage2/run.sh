#!/usr/bin/env bash
# Stage-2 GPU check (the served CUDA path), run from the repository root on the GPU machine after the parts
# of prepare.sh were carried there (see bench/gpu/stage2/parts/PLAN.txt). Results in $OUT (summary.md):
#   1. reassemble the publish, the .NET runtime and ONNX Runtime's CUDA provider; find CUDA 13 libraries
#   2. fidelity: GPU embeddings vs the CPU reference within 1e-3 with TF32 off; TF32 on reported
#   3. switch cost: batch-32 x ~128-token runs on one slot, one task vs two alternating tasks (keep 0.5)
#   4. single-task throughput (batch 32, concurrency 64)
#   5. 20 tasks, Zipf 1.0, concurrency 64: patch (2 slots) vs all resident (20 slots, no swaps once warm)
# A step that fails is recorded in the summary and the next one still runs.
# DEVICE=cpu DURATION=2 runs the whole script on a CPU machine (a dry run of the script, not a measurement).
set -uo pipefail
cd "$(dirname "$0")/../../.."
here=bench/gpu/stage2
OUT="${OUT:-$PWD/bench/out/stage2}"
mkdir -p "$OUT"
summary="$OUT/summary.md"
echo "# Ken stage 2 ($(date -u +%FT%TZ))" > "$summary"
note() { echo "$*" | tee -a "$summary"; }
stage="${STAGE_DIR:-/tmp/ken-stage2}"
duration="${DURATION:-10}"

# 1. Reassemble.
parts="$here/parts"
if ! (cd "$parts" 2>/dev/null && sha256sum -c --quiet SHA256SUMS); then
  note "parts: missing or corrupt under $parts; carry every file PLAN.txt lists (a cold machine loses earlier calls' parts)"
  ls -la "$parts" >> "$summary" 2>&1
  exit 1
fi
rm -rf "$stage" && mkdir -p "$stage"
cat "$parts"/app.tar.xz.part* | xz -d | tar -x -C "$stage" || { note "unpack: app.tar.xz failed"; exit 1; }
ort_dir="$(dirname "$(find "$stage/app" -name 'libonnxruntime.so*' | head -n 1)")"
cat "$parts"/provider.xz.part* | xz -d > "$ort_dir/libonnxruntime_providers_cuda.so" || { note "unpack: provider failed"; exit 1; }
note "unpacked into $stage ($(du -sh "$stage" | cut -f1)); provider beside libonnxruntime.so in $ort_dir"

libdirs=""
for lib in 'libcublasLt.so.13*' 'libcublas.so.13*' 'libcudart.so.13*' 'libcudnn.so.9*' 'libcufft.so.12*' 'libcurand.so.10*' 'libnvrtc.so.13*'; do
  found="$(find / -xdev -name "$lib" -not -path '/proc/*' 2>/dev/null | head -n 1)"
  if [ -n "$found" ]; then
    d="$(dirname "$found")"
    case ":$libdirs:" in *":$d:"*) ;; *) libdirs="${libdirs:+$libdirs:}$d" ;; esac
  else
    note "libraries: $lib not found"
  fi
done
export LD_LIBRARY_PATH="${libdirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
note "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
missing="$(ldd "$ort_dir/libonnxruntime_providers_cuda.so" 2>&1 | grep 'not found' || true)"
[ -z "$missing" ] || note "provider dependencies not found: $(echo "$missing" | tr '\n' ' ')"

export DOTNET_ROOT="$stage/dotnet"
dotnet="$stage/dotnet/dotnet"
ken() { "$dotnet" "$stage/app/ken.dll" "$@"; }
token="stage2-token-$$-$(date +%s)"
export KEN_TOKEN="$token"  # ken bench lists the registry to find its tasks
port=5990
server_pid=""
extra_flags=()

stop_server() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=""; fi
}
trap stop_server EXIT

start_server() { # label, flags...
  local label="$1"; shift
  stop_server
  port=$((port + 1))
  local data="$stage/data-$label"; rm -rf "$data"
  "$dotnet" "$stage/app/Ken.Server.dll" --urls "http://127.0.0.1:$port" --metrics-urls "http://127.0.0.1:$((port + 100))" \
    --data-dir "$data" --admin-token "$token" --device "${DEVICE:-cuda}" "${extra_flags[@]}" "$@" > "$OUT/server-$label.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 180); do
    if ken health --server "http://127.0.0.1:$port" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      wait "$server_pid"; local rc=$?; server_pid=""
      note "server $label: exited with $rc: $(grep -m1 '^ken-server:' "$OUT/server-$label.log" || tail -n 1 "$OUT/server-$label.log")"
      return 1
    fi
    sleep 1
  done
  note "server $label: not healthy after 180 s"; stop_server; return 1
}

server() { echo "http://127.0.0.1:$port"; }
register() { ken register "$stage/deltas/$1" --task "$2" --overwrite --server "$(server)" --token "$token" >/dev/null; }
bench() { # report name, ken bench flags...
  local name="$1"; shift
  ken bench --server "$(server)" --metrics-url "http://127.0.0.1:$((port + 100))/metrics" --duration "$duration" --warmup 2 \
    --json "$OUT/$name.json" "$@" > "$OUT/$name.txt" 2>&1 || { note "bench $name: failed: $(tail -n 1 "$OUT/$name.txt")"; return 1; }
  note "$name: $(python3 "$here/compare.py" rate "$OUT/$name.json")"
}

# 2. Fidelity, TF32 off then on. A graph the CUDA provider cannot run fully is retried with CPU fallback allowed.
if ! start_server fidelity --slots 2 --cuda-tf32 off; then
  if grep -q -- '--allow-cpu-fallback' "$OUT/server-fidelity.log"; then
    extra_flags=(--allow-cpu-fallback on)
    note "retrying every server with --allow-cpu-fallback on (some nodes run on the CPU)"
    start_server fidelity --slots 2 --cuda-tf32 off || { note "stage 2 stops: the GPU server does not start"; exit 1; }
  else
    note "stage 2 stops: the GPU server does not start"; exit 1
  fi
fi
for tf32 in off on; do
  [ "$tf32" = off ] || start_server "fidelity-tf32" --slots 2 --cuda-tf32 on || continue
  for keep in 0.5 0.05; do
    register "arctic-keep$keep.ken" "fid-$keep"
    ken embed --task "fid-$keep" --file "$stage/texts/fidelity.jsonl" --json --server "$(server)" > "$OUT/embed-tf32$tf32-keep$keep.json"
    note "TF32 $tf32, keep $keep: $(python3 "$here/compare.py" fidelity "$stage/reference/keep$keep.json" "$OUT/embed-tf32$tf32-keep$keep.json" 1e-3)"
  done
done
curl -s "http://127.0.0.1:$((port + 100))/metrics" 2>/dev/null | grep -E '^ken_resident_bytes|^ken_tasks' > "$OUT/tiers.txt" || true

# 3. Switch cost: one slot, batch 32 of ~128 tokens; one task, then two tasks drawn uniformly (about half the batches swap).
if start_server switch --slots 1 --max-batch 32; then
  register arctic-keep0.5.ken sw-a && register arctic-keep0.5.ken sw-b
  bench switch-single --tasks sw-a --concurrency 1 --batch 32 --texts "$stage/texts/long128.jsonl" \
    && bench switch-alternating --tasks sw-a,sw-b --zipf 0 --concurrency 1 --batch 32 --texts "$stage/texts/long128.jsonl" \
    && note "$(python3 "$here/compare.py" switch "$OUT/switch-single.json" "$OUT/switch-alternating.json")"
fi

# 4. Single task throughput (V100 reference from sentence-transformers: 14,200 sentences/s).
if start_server single --slots 2; then
  register arctic-keep0.05.ken one && bench single-task --tasks one --concurrency 64 --batch 32
fi

# 5. 20 tasks, Zipf 1.0, concurrency 64: patch vs all resident.
for mode in patch resident; do
  slots=2; [ "$mode" = resident ] && slots=20
  start_server "multitask-$mode" --slots "$slots" || continue
  for t in $(seq 0 19); do
    if [ $((t % 2)) -eq 0 ]; then f=arctic-keep0.5.ken; else f=arctic-keep0.05.ken; fi
    register "$f" "$(printf 'mt-%02d' "$t")"
  done
  bench "multitask-$mode" --tasks-prefix mt- --zipf 1.0 --concurrency 64 --batch 1
done
[ -f "$OUT/multitask-patch.json" ] && [ -f "$OUT/multitask-resident.json" ] \
  && note "$(python3 "$here/compare.py" ratio "$OUT/multitask-patch.json" "$OUT/multitask-resident.json")"
stop_server
cat "$summary"
