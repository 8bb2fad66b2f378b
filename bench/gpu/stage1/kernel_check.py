#!/usr/bin/env python3
"""Stage-1 GPU check of Ken's patch kernel (src/Ken.Cuda/Kernels/ken_patch.ptx) with CuPy.

1. Correctness: MiniLM-L6-shaped tensors, random tasks A and B at several densities and value types;
   the slot starts holding A, one launch switches it to B, and every tensor is compared bit for bit with
   a NumPy reference of the rule (bit of B -> B's value; else bit of A -> pristine; else untouched).
2. Bandwidth: the time of a switch (CUDA events, median over repetitions, alternating A->B and B->A)
   against the bytes the switch must move, as a fraction of the HBM peak (H200: 4.8 TB/s), at keep
   0.05 / 0.25 / 0.5 and full masks, next to a plain device copy of all weights (the full-copy baseline).

Usage: python3 kernel_check.py --ptx src/Ken.Cuda/Kernels/ken_patch.ptx --out $OUT [--quick]
Writes kernel_check.json and prints a table. Exit status 1 when any correctness check fails.
--backend host runs the same tables and checks through the host build of the kernel (a shared library
built from ken_patch.cu with tests/Ken.Cuda.Tests/Native/host_shim.*), so the script's descriptor layout
can be checked on a machine without a GPU (bench/gpu/stage1/host_selftest.sh).
"""
import argparse
import ctypes
import json
import os
import sys

import numpy as np

WORD_BITS = 32
CHUNK_WORDS = 32
THREADS = 256
VALUE_TYPES = {"f32": 0, "f16": 1, "bf16": 2}
TENSOR_DESC = np.dtype([("pristine", "<u8"), ("count", "<u4"), ("words", "<u4"),
                        ("chunk_begin", "<u4"), ("chunk_count", "<u4"), ("reserved", "<u8")])
TASK_DESC = np.dtype([("mask", "<u8"), ("offsets", "<u8"), ("values", "<u8"),
                      ("value_type", "<u4"), ("value_count", "<u4")])
assert TENSOR_DESC.itemsize == 32 and TASK_DESC.itemsize == 32


def minilm_shapes():
    """all-MiniLM-L6-v2's float weights (hidden 384, 6 layers, FFN 1536, vocab 30522)."""
    h, f = 384, 1536
    shapes = [(30522, h), (512, h), (2, h), (h,), (h,)]
    for _ in range(6):
        shapes += [(h, h), (h,), (h, h), (h,), (h, h), (h,), (h, h), (h,), (h,), (h,),
                   (f, h), (f,), (h, f), (h,), (h,), (h,)]
    return [int(np.prod(s)) for s in shapes]


def quick_shapes():
    return [1, 7, 33, 1000, 1025, 4099, 70001, 384 * 384]


class Task:
    """A task's masks (LSB-first bytes), padded words, per-word offsets, encoded and decoded values."""

    def __init__(self, rng, lengths, keep, value_type, patched=None):
        self.value_type = value_type
        self.masks, self.words, self.offsets, self.raw, self.decoded, self.bits = [], [], [], [], [], []
        for t, n in enumerate(lengths):
            if patched is not None and not patched(t):
                for lst in (self.masks, self.words, self.offsets, self.raw, self.decoded, self.bits):
                    lst.append(None)
                continue
            bits = np.ones(n, bool) if keep >= 1.0 else rng.random(n) < keep
            mask = np.packbits(bits, bitorder="little")
            words = np.zeros((n + 31) // 32, np.uint32)
            words.view(np.uint8)[: mask.size] = mask
            counts = np.bitwise_count(words) if hasattr(np, "bitwise_count") else \
                np.unpackbits(words.view(np.uint8)).reshape(-1, 32).sum(1)
            offsets = np.zeros_like(words)
            offsets[1:] = np.cumsum(counts, dtype=np.uint64)[:-1].astype(np.uint32)
            k = int(bits.sum())
            values = (rng.standard_normal(k) * 0.05).astype(np.float32)
            if value_type == "f32":
                raw, decoded = values, values
            elif value_type == "f16":
                raw = values.astype(np.float16)
                decoded = raw.astype(np.float32)
            else:
                raw = (values.view(np.uint32) >> 16).astype(np.uint16)
                decoded = (raw.astype(np.uint32) << 16).view(np.float32)
            self.masks.append(mask)
            self.words.append(words)
            self.offsets.append(offsets)
            self.raw.append(np.ascontiguousarray(raw))
            self.decoded.append(decoded)
            self.bits.append(bits)

    def value_bytes(self, t):
        return 0 if self.raw[t] is None else self.raw[t].nbytes


def reference(weights, pristine, a, b, t):
    """The switch rule in NumPy on one tensor."""
    out = weights.copy()
    bits_b = b.bits[t] if b is not None and b.bits[t] is not None else None
    bits_a = a.bits[t] if a is not None and a.bits[t] is not None else None
    if bits_a is not None:
        restore = bits_a if bits_b is None else (bits_a & ~bits_b)
        out[restore] = pristine[restore]
    if bits_b is not None:
        out[bits_b] = b.decoded[t]
    return out


def switch_bytes(lengths, a, b):
    """Bytes a switch A->B must move: both masks, B's offsets and values, pristine for A-only
    positions, and the writes of every position in A or B."""
    total = 0
    for t, n in enumerate(lengths):
        words = (n + 31) // 32
        ba = a.bits[t] if a is not None else None
        bb = b.bits[t] if b is not None else None
        if ba is None and bb is None:
            continue
        if ba is not None:
            total += words * 4
        if bb is not None:
            total += words * 8 + b.value_bytes(t)
        a_only = 0 if ba is None else int((ba & ~bb).sum()) if bb is not None else int(ba.sum())
        written = int(((ba if ba is not None else False) | (bb if bb is not None else False)).sum())
        total += a_only * 4 + written * 4
    return total


class CupyBackend:
    def __init__(self, ptx):
        import cupy
        self.cp = cupy
        self.module = cupy.RawModule(path=ptx)
        self.kernel = self.module.get_function("ken_patch")
        props = cupy.cuda.runtime.getDeviceProperties(0)
        self.name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]

    def upload(self, array):
        return self.cp.asarray(array)

    def address(self, array):
        return int(array.data.ptr)

    def download(self, array):
        return self.cp.asnumpy(array)

    def launch(self, blocks, tensors, n, chunks, weights, a, b):
        # RawKernel launches on CuPy's current stream (measure() makes its stream current).
        self.kernel((blocks,), (THREADS,), (tensors, np.uint32(n), np.uint32(chunks), weights,
                                            np.uint64(a), np.uint64(b)))

    def synchronize(self):
        self.cp.cuda.Device().synchronize()


class HostBackend:
    """The host build of the kernel through ctypes; 'device' arrays are NumPy arrays."""

    def __init__(self, library):
        self.lib = ctypes.CDLL(library)
        self.lib.ken_host_patch_launch.restype = ctypes.c_int
        self.lib.ken_host_patch_launch.argtypes = [ctypes.c_uint, ctypes.c_uint, ctypes.c_uint64, ctypes.c_uint32,
                                                   ctypes.c_uint32, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64,
                                                   ctypes.c_char_p, ctypes.c_int]
        self.name = "host emulation"

    def upload(self, array):
        return np.array(array, copy=True)

    def address(self, array):
        return int(array.ctypes.data)

    def download(self, array):
        return np.array(array, copy=True)

    def launch(self, blocks, tensors, n, chunks, weights, a, b):
        error = ctypes.create_string_buffer(512)
        if self.lib.ken_host_patch_launch(blocks, THREADS, self.address(tensors), n, chunks, self.address(weights),
                                          a, b, error, 512) != 0:
            raise RuntimeError(error.value.decode())

    def synchronize(self):
        pass


class Backbone:
    """Pristine tensors, the tensor table, one slot (weights + its table) on the backend."""

    def __init__(self, backend, rng, lengths):
        self.backend, self.lengths = backend, lengths
        self.pristine_host = [rng.standard_normal(n).astype(np.float32) for n in lengths]
        self.pristine = [backend.upload(p) for p in self.pristine_host]
        self.weights = [backend.upload(p) for p in self.pristine_host]
        table = np.zeros(len(lengths), TENSOR_DESC)
        chunks = 0
        for t, n in enumerate(lengths):
            words = (n + 31) // 32
            table[t] = (backend.address(self.pristine[t]), n, words, chunks, (words + 31) // 32, 0)
            chunks += (words + 31) // 32
        self.chunks = chunks
        self.tensor_table = backend.upload(table.view(np.uint8))
        self.slot_table = backend.upload(np.array([backend.address(w) for w in self.weights], np.uint64))
        self.blocks = max(1, (chunks + THREADS // 32 - 1) // (THREADS // 32))
        self.device_tasks = []

    def bind(self, task):
        keep = []
        table = np.zeros(len(self.lengths), TASK_DESC)
        for t in range(len(self.lengths)):
            if task.words[t] is None:
                continue
            words, offsets = self.backend.upload(task.words[t]), self.backend.upload(task.offsets[t])
            values = self.backend.upload(task.raw[t] if task.raw[t].size else np.zeros(1, np.uint8))
            keep += [words, offsets, values]
            table[t] = (self.backend.address(words), self.backend.address(offsets), self.backend.address(values),
                        VALUE_TYPES[task.value_type], task.raw[t].size)
        device_table = self.backend.upload(table.view(np.uint8))
        keep.append(device_table)
        self.device_tasks.append(keep)
        return self.backend.address(device_table)

    def set_weights(self, host_weights):
        for t, w in enumerate(host_weights):
            self.weights[t][...] = self.backend.upload(w)

    def switch(self, a_table, b_table):
        self.backend.launch(self.blocks, self.tensor_table, len(self.lengths), self.chunks, self.slot_table,
                            a_table, b_table)


def check_correctness(backend, lengths, rng, report):
    bb = Backbone(backend, rng, lengths)
    failures = 0
    cases = [("none->B", None, (0.5, "f32")), ("A->none", (0.5, "f32"), None),
             ("overlap", (0.25, "f32"), (0.25, "f16")), ("full->sparse", (1.0, "f32"), (0.05, "bf16")),
             ("sparse->full", (0.05, "f16"), (1.0, "f32")), ("empty->half", (0.0, "f32"), (0.5, "bf16")),
             ("partial", (0.5, "f32", lambda t: t % 3 != 0), (0.05, "f16", lambda t: t % 3 != 1))]
    for name, spec_a, spec_b in cases:
        a = Task(rng, lengths, spec_a[0], spec_a[1], spec_a[2] if len(spec_a) > 2 else None) if spec_a else None
        b = Task(rng, lengths, spec_b[0], spec_b[1], spec_b[2] if len(spec_b) > 2 else None) if spec_b else None
        # The slot holds A: A's values at A's bits, a sentinel elsewhere (the switch must not touch it).
        start = []
        for t, n in enumerate(lengths):
            w = np.full(n, -7777.0, np.float32)
            if a is not None and a.bits[t] is not None:
                w[a.bits[t]] = a.decoded[t]
            start.append(w)
        bb.set_weights(start)
        ta = bb.bind(a) if a else 0
        tb = bb.bind(b) if b else 0
        bb.switch(ta, tb)
        backend.synchronize()
        bad = 0
        for t in range(len(lengths)):
            got = backend.download(bb.weights[t])
            want = reference(start[t], bb.pristine_host[t], a, b, t)
            bad += int((got.view(np.uint32) != want.view(np.uint32)).sum())
        failures += bad > 0
        report["correctness"].append({"case": name, "mismatches": bad})
        print(f"correctness {name:14s} {'PASS' if bad == 0 else f'FAIL ({bad} elements differ)'}")
        bb.device_tasks.clear()
    return failures


def measure(backend, lengths, rng, report, reps, peak):
    import cupy as cp
    bb = Backbone(backend, rng, lengths)
    total_elements = sum(lengths)
    stream = cp.cuda.Stream(non_blocking=True)
    rows = []

    def time_it(fn, count):
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        times = []
        for i in range(count):
            start.record(stream)
            fn(i)
            stop.record(stream)
            stop.synchronize()
            times.append(cp.cuda.get_elapsed_time(start, stop) * 1e-3)
        return float(np.median(times[2:] if count > 4 else times))

    stream.use()  # every launch and event below goes to this stream
    # Full-copy baseline: every weight read from pristine and written to the slot.
    flat_src = cp.empty(total_elements, cp.float32)
    flat_dst = cp.empty(total_elements, cp.float32)
    seconds = time_it(lambda i: flat_dst.__setitem__(Ellipsis, flat_src), reps)
    copy_bytes = total_elements * 8
    rows.append({"case": "device copy (baseline)", "bytes": copy_bytes, "seconds": seconds})

    for keep, value_type in [(0.05, "f32"), (0.25, "f32"), (0.5, "f32"), (0.05, "f16"), (1.0, "f32")]:
        a = Task(rng, lengths, keep, value_type)
        b = Task(rng, lengths, keep, value_type)
        ta, tb = bb.bind(a), bb.bind(b)
        bytes_ab = switch_bytes(lengths, a, b)
        bytes_ba = switch_bytes(lengths, b, a)
        # Alternate A->B and B->A so every switch does real work; average their byte counts.
        seconds = time_it(lambda i: bb.switch(ta, tb) if i % 2 == 0 else bb.switch(tb, ta), reps)
        rows.append({"case": f"switch keep={keep} {value_type}", "bytes": (bytes_ab + bytes_ba) // 2, "seconds": seconds})
        bb.device_tasks.clear()

    print(f"\n{'case':28s} {'MB moved':>10s} {'time us':>10s} {'GB/s':>10s} {'% of peak':>10s}")
    for r in rows:
        r["gbps"] = r["bytes"] / r["seconds"] / 1e9
        r["fraction_of_peak"] = r["gbps"] / peak
        print(f"{r['case']:28s} {r['bytes'] / 1e6:10.1f} {r['seconds'] * 1e6:10.1f} {r['gbps']:10.0f} {100 * r['fraction_of_peak']:9.1f}%")
    report["bandwidth"] = rows
    report["peak_gbps"] = peak


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ptx", default="src/Ken.Cuda/Kernels/ken_patch.ptx")
    parser.add_argument("--out", default=os.environ.get("OUT", "."))
    parser.add_argument("--backend", choices=["cupy", "host"], default="cupy")
    parser.add_argument("--host-library", help="host build of the kernel (for --backend host)")
    parser.add_argument("--quick", action="store_true", help="small shapes, correctness only (for compute-sanitizer)")
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--peak-gbps", type=float, default=0.0, help="HBM peak; default by device name (H200 4800, H100 3350)")
    args = parser.parse_args()

    backend = CupyBackend(args.ptx) if args.backend == "cupy" else HostBackend(args.host_library)
    rng = np.random.default_rng(20240601)
    report = {"device": backend.name, "ptx": args.ptx, "correctness": []}
    lengths = quick_shapes() if args.quick or args.backend == "host" else minilm_shapes()
    print(f"device: {backend.name}; {len(lengths)} tensors, {sum(lengths):,} elements")
    failures = check_correctness(backend, lengths, rng, report)
    if not args.quick and args.backend == "cupy":
        peak = args.peak_gbps or (4800.0 if "H200" in backend.name else 3350.0 if "H100" in backend.name else 0.0)
        if peak == 0.0:
            print("unknown device: pass --peak-gbps for the fraction of peak")
            peak = float("nan")
        measure(backend, minilm_shapes(), rng, report, args.reps, peak)
    os.makedirs(args.out, exist_ok=True)
    name = "kernel_check_quick.json" if args.quick else "kernel_check.json"
    with open(os.path.join(args.out, name), "w") as f:
        json.dump(report, f, indent=2)
    print(f"\ncorrectness: {'PASS' if failures == 0 else f'FAIL ({failures} cases)'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
