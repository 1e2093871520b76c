#!/usr/bin/env python3
"""obol against ONNX Runtime on the same models: interleaved rounds, p50 latencies and their ratio.

    pip install onnxruntime
    cmake --build build --target obol-bench-models
    python3 tools/compare_ort.py [--rounds 3] [--bench build/bin/obol-bench-models] [MODEL.onnx ...]

Each round runs build/bin/obol-bench-models over every model at 1 and 2 threads, then
tools/bench_ort.py over the same models (the order flips every round), both with the timing scheme
of bench_models_common.py. On a shared machine that drifts, a ratio holds only for runs close in
time, so each round gives a ratio per row, and the table shows the median over rounds of the p50s
and of the per-round ratios (ratio < 1: obol faster). With --lock FILE each round runs
under flock(2) on FILE (one lock per round), so builds that take the same lock do not run during a timing.
"""
import argparse
import fcntl
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_models_common as common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


class RoundLock:
    """flock(2) on LOCK for one round (obol and ORT together), as `flock LOCK` would take it."""

    def __init__(self, path):
        self.path, self.f = path, None

    def __enter__(self):
        if self.path:
            self.f = open(self.path, "a")
            fcntl.flock(self.f, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        if self.f:
            fcntl.flock(self.f, fcntl.LOCK_UN)
            self.f.close()


def run_obol(bench, models, threads, tmp):
    out = os.path.join(tmp, "obol.json")
    flt = "threads:(" + "|".join(threads) + ")(/|$)"
    cmd = [bench] + models + [f"--benchmark_filter={flt}", f"--benchmark_out={out}", "--benchmark_out_format=json"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        data = json.load(f)
    res = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") == "median" and not b.get("error_occurred"):
            assert b["time_unit"] == "us", b["time_unit"]
            res[b["run_name"].replace("/real_time", "")] = b["real_time"]
    return res


def run_ort(models, threads, tmp):
    out = os.path.join(tmp, "ort.json")
    cmd = [sys.executable, os.path.join(HERE, "bench_ort.py"), "--threads", ",".join(threads), "--json", out] + models
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        data = json.load(f)
    return {r["name"]: r["p50_us"] for r in data["results"]}, data["onnxruntime"]


def write_identity(folder):
    """A 1x1 Identity model: its row is each engine's per-call floor, to read the tiny models' rows by."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper
    d = os.path.join(folder, "identity-1x1")
    os.makedirs(d, exist_ok=True)
    g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, os.path.join(d, "model.onnx"))
    np.save(os.path.join(d, "input_0.npy"), np.ones((1, 1), np.float32))
    return os.path.join(d, "model.onnx")


def fmt_us(us):
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.1f} µs"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--bench", default="build/bin/obol-bench-models")
    ap.add_argument("--lock", help="run each timed command under flock LOCK")
    ap.add_argument("--json", help="write every round's figures here")
    ap.add_argument("--from-json", help="only print the table of a --json file written earlier")
    ap.add_argument("--no-floor", action="store_true", help="leave out the Identity 1x1 (per-call floor) row")
    args = ap.parse_args()
    models = args.models or common.default_models()
    threads = args.threads.split(",")
    if args.from_json:
        with open(args.from_json) as f:
            data = json.load(f)
        names = {k.split("/")[1]: None for rd in data["rounds"] for k in rd["obol"]}
        print_table([os.path.join(n, "model.onnx") for n in names], threads, data["rounds"], data["onnxruntime"])
        return
    rounds = []
    ort_version = "?"
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_floor:
            models = [write_identity(tmp)] + models
        for r in range(args.rounds):
            with RoundLock(args.lock):
                if r % 2 == 0:
                    o = run_obol(args.bench, models, threads, tmp)
                    x, ort_version = run_ort(models, threads, tmp)
                else:
                    x, ort_version = run_ort(models, threads, tmp)
                    o = run_obol(args.bench, models, threads, tmp)
            rounds.append({"obol": o, "ort": x})
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
            if args.json:
                with open(args.json, "w") as f:
                    json.dump({"onnxruntime": ort_version, "rounds": rounds}, f, indent=1)
    print_table(models, threads, rounds, ort_version)


def print_table(models, threads, rounds, ort_version):
    print(f"ONNX Runtime {ort_version}; {len(rounds)} interleaved rounds; median over rounds of each round's p50\n")
    print("| model | threads | obol p50 | ORT p50 | obol / ORT |")
    print("|---|---|---|---|---|")
    for m in models:
        for t in threads:
            name = f"models/{common.model_name(m)}/threads:{t}"
            o = [rd["obol"][name] for rd in rounds if name in rd["obol"]]
            x = [rd["ort"][name] for rd in rounds if name in rd["ort"]]
            ratios = [rd["obol"][name] / rd["ort"][name] for rd in rounds if name in rd["obol"] and name in rd["ort"]]
            if not ratios:
                print(f"| {common.model_name(m)} | {t} | {'failed' if not o else fmt_us(statistics.median(o))} | "
                      f"{'failed' if not x else fmt_us(statistics.median(x))} | — |")
                continue
            ratio = statistics.median(ratios)
            cell = f"**{ratio:.2f}**" if ratio < 1 else f"{ratio:.2f}"
            print(f"| {common.model_name(m)} | {t} | {fmt_us(statistics.median(o))} | {fmt_us(statistics.median(x))} "
                  f"| {cell} (range {min(ratios):.2f}–{max(ratios):.2f}) |")


if __name__ == "__main__":
    main()
