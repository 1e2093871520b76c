#!/usr/bin/env python3
"""Times ONNX Runtime (CPU) on the models and inputs that build/bin/obol-bench-models times.

    pip install onnxruntime        # only for this comparison; ./run bench does not need it
    python3 tools/bench_ort.py [--threads 1,2] [MODEL.onnx ...]     # default: see bench_models_common

Session options: intra_op_num_threads = T, inter_op_num_threads = 1, ORT_SEQUENTIAL,
ORT_ENABLE_ALL. Inputs and preallocated outputs are bound once with IOBinding, so a timed call is
run_with_iobinding() alone, as obol's is Session::run_into(). The timing scheme is Google
Benchmark's, with the numbers in bench_models_common.py: warm-up, then repetitions that each run
until MIN_TIME_S has passed; a repetition's figure is its mean per call; p50 = median repetition.

Prints one line per model and thread count, `models/<name>/threads:<T> <p50 us> us`, or with --json FILE
also writes [{"name", "p50_us", "reps_us"}] there.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_models_common as common  # noqa: E402

import onnxruntime as ort  # noqa: E402


def read_tensor(path):
    if path.endswith(".npy"):
        return np.load(path)
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def make_session(path, threads):
    so = ort.SessionOptions()
    so.log_severity_level = 3  # errors only: the opset-6 test models make it warn at every load
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def time_calls(fn, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - t0


def repetition(fn, min_time):
    """Google Benchmark's rule: grow the iteration count until one batch lasts min_time."""
    n = 1
    while True:
        elapsed = time_calls(fn, n)
        if elapsed >= min_time or n >= 10**9:
            return elapsed / n
        mult = min_time * 1.4 / max(elapsed, 1e-9)
        n = int(max(n + 1, min(n * 10, n * mult if elapsed / min_time > 0.1 else n * 10)))


def bench(path, threads, warmup_s, min_time, reps):
    sess = make_session(path, threads)
    feeds = [read_tensor(f) for f in common.input_files(path, len(sess.get_inputs()))]
    binding = sess.io_binding()
    for info, x in zip(sess.get_inputs(), feeds):
        binding.bind_cpu_input(info.name, np.ascontiguousarray(x))
    # One plain run gives the output shapes; the outputs are then preallocated and bound.
    outs = sess.run(None, {i.name: x for i, x in zip(sess.get_inputs(), feeds)})
    keep = []
    for info, y in zip(sess.get_outputs(), outs):
        buf = np.empty_like(y)
        keep.append(buf)
        binding.bind_output(info.name, "cpu", 0, buf.dtype, list(buf.shape), buf.ctypes.data)
    call = lambda: sess.run_with_iobinding(binding)  # noqa: E731
    t_end = time.perf_counter() + warmup_s
    call()
    while time.perf_counter() < t_end:
        call()
    samples = [repetition(call, min_time) * 1e6 for _ in range(reps)]
    return statistics.median(samples), samples


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", help="model.onnx paths (default: conv test models + build/models encoders)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--warmup", type=float, default=common.WARMUP_S)
    ap.add_argument("--min-time", type=float, default=common.MIN_TIME_S)
    ap.add_argument("--repetitions", type=int, default=common.REPETITIONS)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    models = args.models or [m for m in os.environ.get("OBOL_BENCH_MODELS", "").split(os.pathsep) if m] \
        or common.default_models()
    results = []
    for path in models:
        for t in (int(x) for x in args.threads.split(",")):
            name = f"models/{common.model_name(path)}/threads:{t}"
            p50, reps = bench(path, t, args.warmup, args.min_time, args.repetitions)
            results.append({"name": name, "p50_us": p50, "reps_us": reps})
            print(f"{name} {p50:.2f} us", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"onnxruntime": ort.__version__, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
