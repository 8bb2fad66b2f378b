#!/usr/bin/env bash
# Stage-1 GPU check, run from the repository root on the GPU machine (one H200, driver 580, CUDA 13
# toolkit, Python 3.12 with cupy-cuda13x; no .NET, no network). Run bench/gpu/stage1/prepare.sh here first
# and carry bench/gpu/stage1/publish. Everything lands in $OUT; each step's status is in $OUT/summary.txt.
#   1. kernel_check.py: correctness vs NumPy and switch bandwidth vs HBM peak (the PTX through CuPy)
#   2. CUDA 13 ptxas: registers and spills for sm_90 (the test suite checks CUDA 11.8's ptxas here)
#   3. compute-sanitizer memcheck / racecheck / synccheck on the quick correctness run
#   4. ncu: speed of light and memory workload of the first two timed MiniLM switches (keep 0.05)
#   5. DriverCheck: Ken.Cuda's P/Invoke layer and DevicePatcher on the real driver
set -uo pipefail
cd "$(dirname "$0")/../../.."
OUT="${OUT:-$PWD/bench/out/stage1}"
mkdir -p "$OUT"
summary="$OUT/summary.txt"
: > "$summary"
ptx=src/Ken.Cuda/Kernels/ken_patch.ptx
script=bench/gpu/stage1/kernel_check.py

step() {
  local name="$1"; shift
  local start=$SECONDS
  "$@" > "$OUT/$name.txt" 2>&1
  local rc=$?
  echo "$name: rc=$rc ($((SECONDS - start)) s)" | tee -a "$summary"
  tail -n 25 "$OUT/$name.txt"
}

nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
step kernel_check timeout 240 python3 "$script" --ptx "$ptx" --out "$OUT"
if command -v ptxas >/dev/null; then
  step ptxas_cuda13 sh -c "ptxas --version && for a in sm_80 sm_90; do ptxas -arch=\$a -O3 -v -warn-spills -o /dev/null $ptx; done"
fi
if command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck synccheck; do
    step "sanitizer_$tool" timeout 120 compute-sanitizer --tool "$tool" --error-exitcode 9 python3 "$script" --ptx "$ptx" --out "$OUT/sanitizer" --quick
  done
fi
if command -v ncu >/dev/null; then
  step ncu timeout 180 ncu --kernel-name ken_patch --launch-skip 7 --launch-count 2 \
    --section SpeedOfLight --section MemoryWorkloadAnalysis \
    python3 "$script" --ptx "$ptx" --out "$OUT/ncu" --reps 6
fi
if [ -x bench/gpu/stage1/publish/DriverCheck/DriverCheck ]; then
  du -sh bench/gpu/stage1/publish/DriverCheck > "$OUT/driver_check_size.txt"
  step driver_check timeout 180 bench/gpu/stage1/publish/DriverCheck/DriverCheck
else
  echo "driver_check: skipped (run bench/gpu/stage1/prepare.sh and carry bench/gpu/stage1/publish)" | tee -a "$summary"
fi
cat "$summary"
