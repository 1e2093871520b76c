#!/usr/bin/env python3
"""Builds a transformer encoder (random weights) in plain ONNX ops, shaped the way PyTorch exports it.

    python3 tools/make_encoder.py --out build/models/minilm                  # MiniLM-L6 shape
    python3 tools/make_encoder.py --out build/models/bert-base --layers 12 --hidden 768 --ffn 3072

Writes OUT/model.onnx (weights inline, or in OUT/model.onnx.data when they pass --external-mb) and
OUT/input_0.npy, a random float32 input of shape [batch, seq, hidden] (the embedding output; the
embedding lookup itself is left out). With --classes N the output is a token-classification head's
logits [batch, seq, N] instead of the last hidden state; with --fit-head the head is fitted (ridge
regression on the encoder's fp32 output) to a synthetic task, so its logits have the margins of a
trained classifier rather than a random projection's, and OUT/task/ holds 16 task inputs. Each layer is what torch.onnx.export makes of a BERT layer at
opset 17 with static shapes:

    Q, K, V  = MatMul + Add                            (Linear on a 3-D input)
    heads    = Reshape [B,S,nh,dh] -> Transpose        (K transposed straight to [B,nh,dh,S])
    scores   = MatMul(Q, K^T) -> Div sqrt(dh) -> Softmax(-1) -> MatMul V
    merge    = Transpose -> Reshape [B,S,H] -> MatMul + Add -> Add residual -> LayerNorm
    FFN      = MatMul + Add -> GELU (Div sqrt2, Erf, Add 1, Mul x, Mul 0.5) -> MatMul + Add
               -> Add residual -> LayerNorm

LayerNorm is LayerNormalization (opset 17), or with --decomposed-layernorm the pattern older exports
make: ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta.
Needs only the onnx and numpy packages; the seed fixes every weight and the input.
"""
import argparse
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Builder:
    def __init__(self, rng):
        self.rng = rng
        self.nodes = []
        self.inits = []
        self.count = 0

    def name(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, base, array):
        n = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), n))
        return n

    def weight(self, base, shape, std=0.02):
        return self.const(base, (self.rng.standard_normal(shape) * std).astype(np.float32))

    def op(self, op_type, inputs, base=None, **attrs):
        out = self.name(base or op_type)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=self.name(f"/{op_type}"), **attrs))
        return out

    def linear(self, x, n_in, n_out, base):
        y = self.op("MatMul", [x, self.weight(f"{base}.weight", (n_in, n_out))])
        return self.op("Add", [self.const(f"{base}.bias", np.zeros(n_out, np.float32) + 0.01), y])

    def layer_norm(self, x, hidden, base, decomposed, eps=1e-12):
        gamma = self.const(f"{base}.weight", np.ones(hidden, np.float32))
        beta = self.const(f"{base}.bias", np.zeros(hidden, np.float32))
        if not decomposed:
            return self.op("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=eps)
        mean = self.op("ReduceMean", [x], axes=[-1], keepdims=1)
        d = self.op("Sub", [x, mean])
        var = self.op("ReduceMean", [self.op("Pow", [d, self.const("two", np.array(2.0, np.float32))])], axes=[-1],
                      keepdims=1)
        std = self.op("Sqrt", [self.op("Add", [var, self.const("eps", np.array(eps, np.float32))])])
        y = self.op("Div", [d, std])
        return self.op("Add", [self.op("Mul", [y, gamma]), beta])

    def gelu(self, x):
        e = self.op("Erf", [self.op("Div", [x, self.const("sqrt2", np.array(math.sqrt(2.0), np.float32))])])
        y = self.op("Mul", [x, self.op("Add", [e, self.const("one", np.array(1.0, np.float32))])])
        return self.op("Mul", [y, self.const("half", np.array(0.5, np.float32))])


def build(args, head=None):
    b = Builder(np.random.default_rng(args.seed))
    B, S, H, nh = args.batch, args.seq, args.hidden, args.heads
    if H % nh:
        sys.exit(f"make_encoder: --hidden {H} is not a multiple of --heads {nh}")
    dh = H // nh
    x = "input"
    heads_shape = b.const("heads_shape", np.array([B, S, nh, dh], np.int64))
    merged_shape = b.const("merged_shape", np.array([B, S, H], np.int64))
    scale = b.const("scale", np.array(math.sqrt(dh), np.float32))
    for i in range(args.layers):
        p = f"encoder.layer.{i}"
        q = b.op("Transpose", [b.op("Reshape", [b.linear(x, H, H, f"{p}.attention.query"), heads_shape])],
                 perm=[0, 2, 1, 3])
        k = b.op("Transpose", [b.op("Reshape", [b.linear(x, H, H, f"{p}.attention.key"), heads_shape])],
                 perm=[0, 2, 3, 1])
        v = b.op("Transpose", [b.op("Reshape", [b.linear(x, H, H, f"{p}.attention.value"), heads_shape])],
                 perm=[0, 2, 1, 3])
        scores = b.op("Div", [b.op("MatMul", [q, k]), scale])
        ctx = b.op("MatMul", [b.op("Softmax", [scores], axis=-1), v])
        ctx = b.op("Reshape", [b.op("Transpose", [ctx], perm=[0, 2, 1, 3]), merged_shape])
        attn = b.op("Add", [b.linear(ctx, H, H, f"{p}.attention.output"), x])
        x = b.layer_norm(attn, H, f"{p}.attention.LayerNorm", args.decomposed_layernorm)
        ffn = b.linear(b.gelu(b.linear(x, H, args.ffn, f"{p}.intermediate")), args.ffn, H, f"{p}.output")
        x = b.layer_norm(b.op("Add", [ffn, x]), H, f"{p}.output.LayerNorm", args.decomposed_layernorm)
    if args.classes:
        # A token-classification head (as BertForTokenClassification): one Linear to the class logits,
        # random or fitted (see fit_head).
        out_name, out_shape = "logits", [B, S, args.classes]
        if head is None:
            x = b.linear(x, H, args.classes, "classifier")
        else:
            y = b.op("MatMul", [x, b.const("classifier.weight", head[0])])
            x = b.op("Add", [b.const("classifier.bias", head[1]), y])
    else:
        out_name, out_shape = "last_hidden_state", [B, S, H]
    b.nodes.append(helper.make_node("Identity", [x], [out_name], name="/Identity_out"))
    graph = helper.make_graph(
        b.nodes, f"encoder_{args.layers}x{H}", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [B, S, H])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)], b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="obol make_encoder")
    model.ir_version = 8
    return model


def task_inputs(args, rng, n):
    """n inputs of a synthetic token-classification task: each token is the centre of its class
    (one of --classes random directions) plus noise. Returns inputs [n, B, S, H] and labels."""
    centres = np.random.default_rng(args.seed + 7).standard_normal((args.classes, args.hidden)).astype(np.float32)
    labels = rng.integers(0, args.classes, (n, args.batch, args.seq))
    noise = rng.standard_normal((n, args.batch, args.seq, args.hidden)).astype(np.float32)
    return centres[labels] + args.task_noise * noise, labels


def fit_head(args):
    """A classifier head with the margins of a trained one: run the random-weight encoder body on
    --fit-head task inputs and fit the head to their labels by ridge regression (needs
    onnxruntime). Returns (weight [H, C], bias [C], fp32 accuracy on fresh task inputs)."""
    import onnxruntime as ort
    body_args = argparse.Namespace(**vars(args))
    body_args.classes = 0
    sess = ort.InferenceSession(build(body_args).SerializeToString(), providers=["CPUExecutionProvider"])
    run = lambda x: sess.run(None, {"input": x})[0].reshape(-1, args.hidden)
    rng = np.random.default_rng(args.seed + 3)
    xs, labels = task_inputs(args, rng, args.fit_head)
    h = np.concatenate([run(x) for x in xs]).astype(np.float64)
    y = np.eye(args.classes)[labels.reshape(-1)]
    h1 = np.concatenate([h, np.ones((h.shape[0], 1))], axis=1)
    wb = np.linalg.solve(h1.T @ h1 + 1e-3 * np.eye(h1.shape[1]), h1.T @ y)
    w, bias = wb[:-1].astype(np.float32), wb[-1].astype(np.float32)
    xt, lt = task_inputs(args, rng, 4)
    acc = np.mean([(run(x) @ w + bias).argmax(-1) == l.reshape(-1) for x, l in zip(xt, lt)])
    return w, bias, acc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder (model.onnx, input_0.npy)")
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--ffn", type=int, default=1536)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--classes", type=int, default=0,
                    help="add a token-classification head with this many classes (output 'logits')")
    ap.add_argument("--fit-head", type=int, default=0, metavar="N",
                    help="with --classes: fit the head on N inputs of a synthetic task (needs onnxruntime) and "
                         "write 16 more task inputs to OUT/task/ (for obol quantize --calibration)")
    ap.add_argument("--task-noise", type=float, default=6.0,
                    help="noise of the synthetic task's tokens (6: fp32 accuracy about 86%%, many tokens near a boundary)")
    ap.add_argument("--decomposed-layernorm", action="store_true",
                    help="ReduceMean/Sub/Pow/Sqrt/Div instead of LayerNormalization")
    ap.add_argument("--external-mb", type=float, default=64.0,
                    help="weights above this many MiB go to model.onnx.data (default 64)")
    args = ap.parse_args()
    head, accuracy = None, None
    if args.fit_head and args.classes:
        w, bias, accuracy = fit_head(args)
        head = (w, bias)
    model = build(args, head)
    onnx.checker.check_model(model)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "model.onnx")
    data = path + ".data"
    if os.path.exists(data):
        os.remove(data)  # onnx appends to an existing external data file
    weight_bytes = sum(t.ByteSize() for t in model.graph.initializer)
    external = weight_bytes > args.external_mb * 2**20
    onnx.save_model(model, path, save_as_external_data=external, all_tensors_to_one_file=True,
                    location="model.onnx.data", size_threshold=1024)
    x = np.random.default_rng(args.seed + 1).standard_normal((args.batch, args.seq, args.hidden)).astype(np.float32)
    if head is not None:
        xs, _ = task_inputs(args, np.random.default_rng(args.seed + 4), 17)
        x = xs[0]
        task_dir = os.path.join(args.out, "task")
        os.makedirs(task_dir, exist_ok=True)
        for i, xi in enumerate(xs[1:]):
            np.save(os.path.join(task_dir, f"input_{i:02d}.npy"), xi)
    np.save(os.path.join(args.out, "input_0.npy"), x)
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    print(f"{path}: {args.layers} layers x {args.hidden}, {args.heads} heads, FFN {args.ffn}, seq {args.seq}, "
          f"batch {args.batch}, {params / 1e6:.1f} M parameters, {len(model.graph.node)} nodes"
          f"{', external data' if external else ''}"
          f"{f', fitted head: fp32 accuracy {accuracy:.1%} on the synthetic task' if accuracy is not None else ''}")


if __name__ == "__main__":
    main()
