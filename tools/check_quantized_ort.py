#!/usr/bin/env python3
"""Checks that models written by `obol quantize` are standard ONNX that ONNX Runtime runs, and that
ONNX Runtime's outputs for them agree with the fp32 model's as obol's report says they should.

    python3 tools/make_encoder.py --out build-x/models/minilm
    build-x/bin/obol quantize build-x/models/minilm/model.onnx /tmp/minilm.int8.onnx
    python3 tools/check_quantized_ort.py build-x/models/minilm/model.onnx /tmp/minilm.int8.onnx \
        [--input build-x/models/minilm/input_0.npy] [--min-cosine 0.99]

For every quantized model given: onnx.checker (full check, with shape inference), an ONNX Runtime
session on the CPU provider, then max abs error, cosine and top-1 agreement (argmax over the last
axis) against the fp32 model on the same input. Exit status 1 when a model fails to load or run,
or when its cosine is below --min-cosine. Needs numpy, onnx and onnxruntime (not part of ctest).
"""
import argparse
import sys

import numpy as np
import onnx
import onnxruntime as ort


def make_feeds(sess, input_path, seed):
    rng = np.random.default_rng(seed)
    feeds = {}
    for i, inp in enumerate(sess.get_inputs()):
        if input_path and i == 0:
            feeds[inp.name] = np.load(input_path)
            continue
        shape = [d if isinstance(d, int) else 1 for d in inp.shape]
        if "float" in inp.type:
            feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
        elif "int64" in inp.type:
            feeds[inp.name] = rng.integers(0, 100, shape).astype(np.int64)
        elif "int32" in inp.type:
            feeds[inp.name] = rng.integers(0, 100, shape).astype(np.int32)
        else:
            raise SystemExit(f"cannot generate input {inp.name} of type {inp.type}")
    return feeds


def compare(ref, got):
    a = np.concatenate([r.astype(np.float64).ravel() for r in ref if r.dtype.kind == "f"])
    b = np.concatenate([g.astype(np.float64).ravel() for g in got if g.dtype.kind == "f"])
    err = float(np.max(np.abs(a - b))) if a.size else 0.0
    cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))) if a.size else 1.0
    rows = agree = 0
    for r, g in zip(ref, got):
        if r.dtype.kind != "f" or r.ndim == 0 or r.shape[-1] < 2:
            continue
        ra = r.reshape(-1, r.shape[-1]).argmax(-1)
        ga = g.reshape(-1, g.shape[-1]).argmax(-1)
        rows += ra.size
        agree += int((ra == ga).sum())
    return err, cos, (agree / rows if rows else 1.0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("fp32")
    p.add_argument("quantized", nargs="+")
    p.add_argument("--input", help=".npy for the first model input (else generated, fixed seed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-cosine", type=float, default=0.99)
    args = p.parse_args()

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    ref_sess = ort.InferenceSession(args.fp32, opts, providers=["CPUExecutionProvider"])
    feeds = make_feeds(ref_sess, args.input, args.seed)
    ref = ref_sess.run(None, feeds)
    ok = True
    for path in args.quantized:
        try:
            model = onnx.load(path)
            onnx.checker.check_model(model, full_check=True)
            ops = sorted({(n.domain or "ai.onnx") + ":" + n.op_type for n in model.graph.node})
            sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
            got = sess.run(None, feeds)
        except Exception as e:  # noqa: BLE001 - report any loader/runtime failure and go on
            print(f"FAIL {path}: {type(e).__name__}: {e}")
            ok = False
            continue
        err, cos, top1 = compare(ref, got)
        status = "ok" if cos >= args.min_cosine else "LOW COSINE"
        ok = ok and cos >= args.min_cosine
        print(f"{status:10s} {path}: onnxruntime {ort.__version__} runs it; max abs err {err:.6g}, "
              f"cosine {cos:.6f}, top-1 {100 * top1:.2f}%")
        print(f"           ops: {', '.join(ops)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
