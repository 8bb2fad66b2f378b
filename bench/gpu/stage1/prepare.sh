#!/usr/bin/env bash
# Prepares stage 1 on this machine (which has .NET): publishes DriverCheck self-contained and trimmed for
# linux-x64 into bench/gpu/stage1/publish/ (git-ignored), for a device `run` call to carry
# (carry: ["bench/gpu/stage1/publish"]); the GPU machine has no .NET and no network.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/publish/DriverCheck"
rm -rf "$out"
dotnet publish "$here/DriverCheck/DriverCheck.csproj" -c Release -r linux-x64 --self-contained \
  -p:PublishTrimmed=true -p:DebugType=none -o "$out"
size="$(du -sh "$out" | cut -f1)"
echo "prepare: DriverCheck published to $out ($size, $(find "$out" -type f | wc -l) files)"
