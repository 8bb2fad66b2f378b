#!/usr/bin/env bash
# Coverage-guided fuzzing of the .ken reader and the safetensors reader: AFL++ (Debian: apt-get install
# afl++) drives bench/Ken.Fuzz, whose Ken.Format.dll SharpFuzz instruments for coverage.
#
#   bench/fuzz.sh [seconds per target, default 300] [targets, default "ken safetensors"]
#
# Output: artifacts/fuzz/<target>/default/{crashes,hangs,queue,fuzzer_stats}. A crash is an input that
# made a reader throw anything but KenException (or die); reproduce one with
#   dotnet artifacts/fuzz/plain/ken-fuzz.dll <target> <crash file>
# and add it to the reader's tests (tests/Ken.Format.Tests/Corpus) when fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
targets="${2:-ken safetensors}"
out="artifacts/fuzz"

command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install afl++" >&2; exit 1; }
mkdir -p "$out/tools"
if [ ! -x "$out/tools/sharpfuzz" ]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$out/tools" >/dev/null
fi

rm -rf "$out/bin" "$out/plain" "$out/seeds"
dotnet publish bench/Ken.Fuzz -c Release -o "$out/bin" --nologo -v quiet
# The instrumented assembly runs only under afl-fuzz: seeds and reproductions use a plain copy.
cp -r "$out/bin" "$out/plain"
dotnet "$out/plain/ken-fuzz.dll" seeds "$out/seeds"
"$out/tools/sharpfuzz" "$out/bin/Ken.Format.dll"

# Inside containers the crash-reporting and CPU-governor checks cannot be satisfied; neither matters here.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
for target in $targets; do
  rm -rf "$out/$target"
  echo "fuzzing the $target reader for $seconds s"
  # -t: a .NET start is slow on a loaded machine; -m none: the CLR reserves far more than it uses.
  afl-fuzz -i "$out/seeds/$target" -o "$out/$target" -t 10000 -m none -V "$seconds" -- dotnet "$out/bin/ken-fuzz.dll" "$target" >"$out/$target.log" 2>&1 || {
    echo "afl-fuzz failed; see $out/$target.log" >&2; tail -20 "$out/$target.log" >&2; exit 1; }
  stats="$out/$target/default/fuzzer_stats"
  crashes=$(find "$out/$target/default/crashes" -type f -name 'id:*' | wc -l)
  hangs=$(find "$out/$target/default/hangs" -type f -name 'id:*' | wc -l)
  echo "$target: $(grep -E '^(execs_done|execs_per_sec|corpus_count|bitmap_cvg|run_time)' "$stats" | tr -s ' ' | tr '\n' ' ') crashes=$crashes hangs=$hangs"
done
