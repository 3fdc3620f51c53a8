"""The three benchmark models of bench/cpu, written with onnx.helper and
seeded weights:

    /usr/bin/python3 bench/cpu/models.py OUTDIR

  mobilenet.onnx    MobileNet-v1-style CNN, 1x3x224x224: a strided 3x3 conv,
                    13 depthwise-separable blocks (depthwise 3x3 + pointwise
                    1x1, each with bias and ReLU, as after BatchNorm folding),
                    global average pool, a 1000-way Gemm
  mlp.onnx          784-1024-1024-10 at batch 64: Gemm (transB, as PyTorch
                    exports Linear) + Relu
  transformer.onnx  one encoder block, seq 128, hidden 256, 4 heads, FFN 1024:
                    post-norm LayerNormalization, exact GELU written with Erf
"""
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(2024)


class Builder:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def w(self, shape, scale=None):
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        scale = scale if scale is not None else math.sqrt(2.0 / fan_in)
        name = f"w{len(self.inits)}"
        self.inits.append(numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name))
        return name

    def const(self, arr):
        name = f"c{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def op(self, op, inputs, **attrs):
        self.n += 1
        out = f"t{self.n}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"{op.lower()}{self.n}", **attrs))
        return out

    def model(self, name, x, xshape, y, yshape, opset=17):
        graph = helper.make_graph(self.nodes, name, [helper.make_tensor_value_info(x, TensorProto.FLOAT, xshape)],
                                  [helper.make_tensor_value_info(y, TensorProto.FLOAT, yshape)], self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        onnx.checker.check_model(m)
        return m


def mobilenet():
    b = Builder()
    t = b.op("Conv", ["x", b.w([32, 3, 3, 3]), b.w([32], 0.01)], pads=[1, 1, 1, 1], strides=[2, 2])
    t = b.op("Relu", [t])
    c = 32
    blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for out, s in blocks:
        t = b.op("Conv", [t, b.w([c, 1, 3, 3]), b.w([c], 0.01)], pads=[1, 1, 1, 1], strides=[s, s], group=c)
        t = b.op("Relu", [t])
        t = b.op("Conv", [t, b.w([out, c, 1, 1]), b.w([out], 0.01)])
        t = b.op("Relu", [t])
        c = out
    t = b.op("GlobalAveragePool", [t])
    t = b.op("Flatten", [t])
    t = b.op("Gemm", [t, b.w([1000, 1024], 0.03), b.w([1000], 0.01)], transB=1)
    return b.model("mobilenet", "x", [1, 3, 224, 224], t, [1, 1000])


def mlp():
    b = Builder()
    t = "x"
    for i, (k, n) in enumerate([(784, 1024), (1024, 1024), (1024, 10)]):
        t = b.op("Gemm", [t, b.w([n, k], math.sqrt(2.0 / k)), b.w([n], 0.01)], transB=1)
        if i < 2:
            t = b.op("Relu", [t])
    return b.model("mlp", "x", [64, 784], t, [64, 10])


def transformer(S=128, D=256, H=4, F=1024):
    b = Builder()
    dh = D // H

    def linear(t, k, n):
        return b.op("Add", [b.op("MatMul", [t, b.w([k, n], math.sqrt(1.0 / k))]), b.w([n], 0.01)])

    def heads(t):  # [S, D] -> [H, S, dh]
        return b.op("Transpose", [b.op("Reshape", [t, b.const(np.array([S, H, dh], np.int64))])], perm=[1, 0, 2])

    def layernorm(t):
        return b.op("LayerNormalization", [t, b.const(np.ones(D, np.float32)), b.const(np.zeros(D, np.float32))],
                    axis=-1, epsilon=1e-5)

    x = b.op("Reshape", ["x", b.const(np.array([S, D], np.int64))])
    q, k, v = (heads(linear(x, D, D)) for _ in range(3))
    s = b.op("Mul", [b.op("MatMul", [q, b.op("Transpose", [k], perm=[0, 2, 1])]),
                     b.const(np.array(1.0 / math.sqrt(dh), np.float32))])
    a = b.op("MatMul", [b.op("Softmax", [s], axis=-1), v])
    a = b.op("Reshape", [b.op("Transpose", [a], perm=[1, 0, 2]), b.const(np.array([S, D], np.int64))])
    h = layernorm(b.op("Add", [x, linear(a, D, D)]))
    f = linear(h, D, F)
    f = b.op("Mul", [b.op("Mul", [f, b.op("Add", [b.op("Erf", [b.op("Div", [f, b.const(np.array(math.sqrt(2.0), np.float32))])]),
                                                   b.const(np.array(1.0, np.float32))])]),
                     b.const(np.array(0.5, np.float32))])
    y = layernorm(b.op("Add", [h, linear(f, F, D)]))
    y = b.op("Reshape", [y, b.const(np.array([1, S, D], np.int64))])
    return b.model("transformer", "x", [1, S, D], y, [1, S, D])


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "build/bench"
    os.makedirs(out, exist_ok=True)
    for name, fn in [("mobilenet", mobilenet), ("mlp", mlp), ("transformer", transformer)]:
        onnx.save(fn(), os.path.join(out, name + ".onnx"))
        print(os.path.join(out, name + ".onnx"))
