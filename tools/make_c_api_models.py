#!/usr/bin/env python3
"""Writes the tiny ONNX models that the C API tests and examples load (tests/data/c_api/).

The files are checked in; this script documents how they were made and regenerates them
(python3 tools/make_c_api_models.py). It encodes the protobuf wire format by hand, so it needs
nothing beyond the Python standard library, and nothing runs it at test time.

  tiny_mlp.onnx     x f32[batch, 4] -> MatMul W1[4, 8] -> Add b1 -> Relu -> MatMul W2[8, 3] -> Add b2 -> y f32[batch, 3]
                    W1[i][j] = ((i * 8 + j) % 7 - 3) / 4, b1[j] = (j % 3 - 1) / 2,
                    W2[i][j] = ((i * 3 + j) % 5 - 2) / 4, b2[j] = j / 4   (all exact in binary)
  two_outputs.onnx  a, b f32[2, 3] -> sum = Add(a, b) f32[2, 3], index = ArgMax(sum, axis 1, keepdims 0) i64[2]
  chain.onnx        x f32[batch, 128] -> 24 x (MatMul W -> Relu) -> y f32[batch, 128], W = 1/128 everywhere,
                    made by ConstantOfShape (folded at load) so the file stays small; for timing and
                    cancellation (many node boundaries, a few milliseconds per run at batch 64)
"""
import os
import struct
import sys

FLOAT, INT64 = 1, 7


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint((field << 3) | wire)


def f_int(field, v):
    return key(field, 0) + varint(v)


def f_bytes(field, b):
    if isinstance(b, str):
        b = b.encode()
    return key(field, 2) + varint(len(b)) + b


def f_float(field, v):
    return key(field, 5) + struct.pack("<f", v)


def tensor(name, dtype, dims, raw):
    return b"".join(f_int(1, d) for d in dims) + f_int(2, dtype) + f_bytes(8, name) + f_bytes(9, raw)


def floats(values):
    return struct.pack("<%df" % len(values), *values)


def int64s(values):
    return struct.pack("<%dq" % len(values), *values)


def value_info(name, elem, dims):
    shape = b""
    for d in dims:
        shape += f_bytes(1, f_bytes(2, d) if isinstance(d, str) else f_int(1, d))
    tensor_type = f_int(1, elem) + f_bytes(2, shape)
    return f_bytes(1, name) + f_bytes(2, f_bytes(1, tensor_type))


def attr_int(name, v):
    return f_bytes(1, name) + f_int(3, v) + f_int(20, 2)


def attr_tensor(name, t):
    return f_bytes(1, name) + f_bytes(5, t) + f_int(20, 4)


def node(op, inputs, outputs, name, attrs=()):
    return (b"".join(f_bytes(1, i) for i in inputs) + b"".join(f_bytes(2, o) for o in outputs) + f_bytes(3, name) +
            f_bytes(4, op) + b"".join(f_bytes(5, a) for a in attrs))


def model(graph_name, nodes, initializers, inputs, outputs, opset=17):
    graph = (b"".join(f_bytes(1, n) for n in nodes) + f_bytes(2, graph_name) +
             b"".join(f_bytes(5, t) for t in initializers) + b"".join(f_bytes(11, v) for v in inputs) +
             b"".join(f_bytes(12, v) for v in outputs))
    opset_id = f_bytes(1, "") + f_int(2, opset)
    return f_int(1, 8) + f_bytes(2, "obol-tools") + f_bytes(7, graph) + f_bytes(8, opset_id)


def tiny_mlp():
    w1 = [((i * 8 + j) % 7 - 3) / 4 for i in range(4) for j in range(8)]
    b1 = [(j % 3 - 1) / 2 for j in range(8)]
    w2 = [((i * 3 + j) % 5 - 2) / 4 for i in range(8) for j in range(3)]
    b2 = [j / 4 for j in range(3)]
    nodes = [
        node("MatMul", ["x", "W1"], ["h"], "mm1"),
        node("Add", ["h", "b1"], ["hb"], "add1"),
        node("Relu", ["hb"], ["hr"], "relu"),
        node("MatMul", ["hr", "W2"], ["o"], "mm2"),
        node("Add", ["o", "b2"], ["y"], "add2"),
    ]
    inits = [tensor("W1", FLOAT, [4, 8], floats(w1)), tensor("b1", FLOAT, [8], floats(b1)),
             tensor("W2", FLOAT, [8, 3], floats(w2)), tensor("b2", FLOAT, [3], floats(b2))]
    return model("tiny_mlp", nodes, inits, [value_info("x", FLOAT, ["batch", 4])],
                 [value_info("y", FLOAT, ["batch", 3])])


def two_outputs():
    nodes = [node("Add", ["a", "b"], ["sum"], "add"),
             node("ArgMax", ["sum"], ["index"], "argmax", [attr_int("axis", 1), attr_int("keepdims", 0)])]
    return model("two_outputs", nodes, [], [value_info("a", FLOAT, [2, 3]), value_info("b", FLOAT, [2, 3])],
                 [value_info("sum", FLOAT, [2, 3]), value_info("index", INT64, [2])])


def chain(layers=24, width=128):
    nodes = [node("ConstantOfShape", ["W_shape"], ["W"], "make_w",
                  [attr_tensor("value", tensor("", FLOAT, [1], floats([1.0 / width])))])]
    prev = "x"
    for k in range(layers):
        nodes.append(node("MatMul", [prev, "W"], ["m%d" % k], "mm%d" % k))
        out = "y" if k == layers - 1 else "r%d" % k
        nodes.append(node("Relu", ["m%d" % k], [out], "relu%d" % k))
        prev = out
    inits = [tensor("W_shape", INT64, [2], int64s([width, width]))]
    return model("chain", nodes, inits, [value_info("x", FLOAT, ["batch", width])],
                 [value_info("y", FLOAT, ["batch", width])])


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data", "c_api")
    os.makedirs(out_dir, exist_ok=True)
    for name, data in [("tiny_mlp.onnx", tiny_mlp()), ("two_outputs.onnx", two_outputs()), ("chain.onnx", chain())]:
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        print("%s: %d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
