#!/usr/bin/env bash
# Runs kernel_check.py's tables and correctness checks through the host build of the kernel, so the
# script's descriptor layout and reference are checked without a GPU. Needs g++ and python3 with numpy.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
g++ -O2 -std=c++17 -U_FORTIFY_SOURCE -Wno-unknown-pragmas -shared -fPIC -Wl,-Bsymbolic \
  -I "$repo/src/Ken.Cuda/Kernels" -I "$repo/tests/Ken.Cuda.Tests/Native" \
  -include host_shim.h -x c++ "$repo/src/Ken.Cuda/Kernels/ken_patch.cu" \
  -x none "$repo/tests/Ken.Cuda.Tests/Native/host_shim.cpp" -o "$tmp/libken_patch_host.so"
python3 "$repo/bench/gpu/stage1/kernel_check.py" --backend host --host-library "$tmp/libken_patch_host.so" --out "$tmp"
