"""Stage-2 helpers (stdlib only): fidelity of GPU embeddings against the CPU reference, and the bench arithmetic.

  compare.py fidelity REFERENCE.json GPU.json TOLERANCE   -> one line; exit 1 when over the tolerance
  compare.py switch SINGLE.json ALTERNATING.json           -> switch cost vs one batch (ken bench --json reports)
  compare.py ratio PATCH.json RESIDENT.json                -> texts/s of each and patch / resident
  compare.py rate REPORT.json                              -> texts/s, requests/s, p50/p99 ms
"""
import json
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def fidelity(reference, gpu, tolerance):
    ref, got = load(reference)["embeddings"], load(gpu)["embeddings"]
    if len(ref) != len(got):
        print(f"fidelity: {len(got)} embeddings, reference has {len(ref)}")
        return 1
    worst = 0.0
    for a, b in zip(ref, got):
        if len(a["values"]) != len(b["values"]):
            print(f"fidelity: dimension {len(b['values'])}, reference {len(a['values'])}")
            return 1
        worst = max(worst, max(abs(x - y) for x, y in zip(a["values"], b["values"])))
    verdict = "PASS" if worst <= tolerance else "FAIL"
    print(f"fidelity: max |gpu - cpu| = {worst:.3g} over {len(ref)} texts (tolerance {tolerance:g}): {verdict}")
    return 0 if worst <= tolerance else 1


def switch(single, alternating):
    a, b = load(single), load(alternating)
    batch_s = a["elapsed_seconds"] / max(a["requests"], 1)
    alt_s = b["elapsed_seconds"] / max(b["requests"], 1)
    counters = b.get("server_counters") or {}
    swaps_per_request = (counters.get("swaps") or 0) / max(b["requests"], 1)
    if swaps_per_request <= 0:
        print("switch: the alternating run made no swaps; cannot attribute a cost")
        return 1
    cost = (alt_s - batch_s) / swaps_per_request
    print(f"switch: one batch {batch_s * 1e3:.3f} ms; with {swaps_per_request:.2f} swaps per batch {alt_s * 1e3:.3f} ms; "
          f"switch ~{cost * 1e3:.3f} ms = {100 * cost / batch_s:.1f}% of one batch (target <= 5%)")
    return 0


def ratio(patch, resident):
    p, r = load(patch), load(resident)
    print(f"multitask: patch {p['texts_per_second']:.0f} texts/s, resident {r['texts_per_second']:.0f} texts/s, "
          f"patch/resident {p['texts_per_second'] / max(r['texts_per_second'], 1e-9):.2f}x (target >= 0.9x); "
          f"errors {p['errors']} / {r['errors']}")
    return 0


def rate(report):
    r = load(report)
    lat = r["latency_ms"]
    print(f"rate: {r['texts_per_second']:.0f} texts/s, {r['throughput_rps']:.0f} requests/s, p50 {lat['p50']:.2f} ms, "
          f"p99 {lat['p99']:.2f} ms, errors {r['errors']}")
    return 0


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "fidelity":
        sys.exit(fidelity(args[0], args[1], float(args[2])))
    sys.exit({"switch": switch, "ratio": ratio, "rate": rate}[command](*args))
