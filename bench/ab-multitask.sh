#!/usr/bin/env bash
# Same-run A/B of bench/multitask.sh between two checkouts (e.g. a worktree of the commit before a
# change, `git worktree add ../ken-base <commit>`, against this one). Runs alternate A, B, A, B ...
# so both see the same machine noise; each round's table lands in OUT/{a,b}-N/results.md and all are
# printed at the end. Environment is passed through to multitask.sh (MODES, TASKS, DURATION, ...).
#
# Usage: bench/ab-multitask.sh A_TREE B_TREE [OUT_DIR] [ROUNDS=2]
set -euo pipefail
a=$(cd "$1" && pwd); b=$(cd "$2" && pwd)
out="$(mkdir -p "${3:-bench/out/ab}" && cd "${3:-bench/out/ab}" && pwd)"
rounds=${4:-2}
for ((r = 1; r <= rounds; r++)); do
  for side in a b; do
    tree=$a; [ "$side" = b ] && tree=$b
    echo "round $r: $side ($tree)" >&2
    # Each side gets its own ports so a server left over from the other side cannot answer.
    port=5700; [ "$side" = b ] && port=5800
    BASE_PORT=$port bash "$tree/bench/multitask.sh" "$out/$side-$r" >/dev/null
  done
done
for ((r = 1; r <= rounds; r++)); do
  for side in a b; do
    echo "### round $r, $side: $( [ "$side" = a ] && echo "$a" || echo "$b") ($(git -C "$( [ "$side" = a ] && echo "$a" || echo "$b")" rev-parse --short HEAD))"
    sed -n '/^| run/,$p' "$out/$side-$r/results.md"
    echo
  done
done | tee "$out/results.md"
