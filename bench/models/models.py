#!/usr/bin/python3
"""models.py — ResNet-50 and a BERT-base encoder built with onnx.helper, in
the form torch.onnx writes them (explicit BatchNormalization; Shape / Gather /
Unsqueeze / Concat / Reshape chains; LayerNorm and GELU written out op by op),
with seeded random weights. Nothing is downloaded and no .onnx is committed:
models are generated where they are used.

    /usr/bin/python3 bench/models/models.py resnet50 OUT.onnx [--small]
    /usr/bin/python3 bench/models/models.py bert OUT.onnx [--small]

--small keeps the graph structure (every layer, every op) but shrinks widths,
image size, depth of BERT and sequence length, so that `kiln run` can build
and run the module quickly; the full sizes are ResNet-50 at 1x3x224x224 and
BERT-base (12 layers, hidden 768, 12 heads, sequence 128).
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


class Builder:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, arr, base="c"):
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def weight(self, shape, scale, base="w"):
        return self.const((self.rng.standard_normal(shape) * scale).astype(np.float32), base)

    def op(self, op_type, inputs, nout=1, **attrs):
        outs = [self.name(op_type.lower()) for _ in range(nout)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name("n_" + op_type), **attrs))
        return outs[0] if nout == 1 else outs

    def model(self, name, inputs, outputs):
        g = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m


# ---- ResNet-50 -------------------------------------------------------------

def conv_bn(b, x, cin, cout, k, stride=1, relu=True):
    w = b.weight((cout, cin, k, k), np.sqrt(2.0 / (cin * k * k)))
    y = b.op("Conv", [x, w], kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4)
    scale = b.const((1 + 0.1 * b.rng.standard_normal(cout)).astype(np.float32))
    bias = b.const((0.1 * b.rng.standard_normal(cout)).astype(np.float32))
    mean = b.const((0.1 * b.rng.standard_normal(cout)).astype(np.float32))
    var = b.const((1 + 0.1 * b.rng.random(cout)).astype(np.float32))
    y = b.op("BatchNormalization", [y, scale, bias, mean, var], epsilon=1e-5)
    return b.op("Relu", [y]) if relu else y


def resnet50(small):
    b = Builder(50)
    div = 8 if small else 1
    size = 64 if small else 224
    x = "input"
    y = conv_bn(b, x, 3, 64 // div, 7, stride=2)
    y = b.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64 // div
    for stage, (blocks, width) in enumerate([(3, 64), (4, 128), (6, 256), (3, 512)]):
        w, cout = width // div, 4 * width // div
        for i in range(blocks):
            stride = 2 if i == 0 and stage > 0 else 1
            h = conv_bn(b, y, cin, w, 1)
            h = conv_bn(b, h, w, w, 3, stride)
            h = conv_bn(b, h, w, cout, 1, relu=False)
            short = conv_bn(b, y, cin, cout, 1, stride, relu=False) if i == 0 else y
            y = b.op("Relu", [b.op("Add", [h, short])])
            cin = cout
    y = b.op("GlobalAveragePool", [y])
    y = b.op("Flatten", [y], axis=1)
    fc = b.weight((1000, cin), np.sqrt(1.0 / cin))
    y = b.op("Gemm", [y, fc, b.const(np.zeros(1000, np.float32))], transB=1)
    return b.model("resnet50", [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 3, size, size])],
                   [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 1000])])


# ---- BERT-base -------------------------------------------------------------

def layer_norm(b, x, hidden):
    """LayerNorm as torch.onnx writes it below opset 17."""
    mean = b.op("ReduceMean", [x], axes=[-1])
    d = b.op("Sub", [x, mean])
    var = b.op("ReduceMean", [b.op("Pow", [d, b.const(np.float32(2.0))])], axes=[-1])
    std = b.op("Sqrt", [b.op("Add", [var, b.const(np.float32(1e-12))])])
    y = b.op("Div", [d, std])
    y = b.op("Mul", [y, b.const((1 + 0.1 * b.rng.standard_normal(hidden)).astype(np.float32))])
    return b.op("Add", [y, b.const((0.1 * b.rng.standard_normal(hidden)).astype(np.float32))])


def gelu(b, x):
    """GELU (erf) as torch.onnx writes it below opset 20."""
    e = b.op("Erf", [b.op("Div", [x, b.const(np.float32(1.4142135381698608))])])
    y = b.op("Mul", [x, b.op("Add", [e, b.const(np.float32(1.0))])])
    return b.op("Mul", [y, b.const(np.float32(0.5))])


def dim(b, x, i):
    """x.size(i) as an exporter writes it: Shape, Gather, Unsqueeze."""
    g = b.op("Gather", [b.op("Shape", [x]), b.const(np.int64(i))], axis=0)
    return b.op("Unsqueeze", [g, b.const(np.array([0], np.int64))])


def linear(b, x, cin, cout):
    y = b.op("MatMul", [x, b.weight((cin, cout), np.sqrt(1.0 / cin))])
    return b.op("Add", [b.const((0.02 * b.rng.standard_normal(cout)).astype(np.float32)), y])


def split_heads(b, x, heads, hd):
    shape = b.op("Concat", [dim(b, x, 0), dim(b, x, 1), b.const(np.array([heads], np.int64)),
                            b.const(np.array([hd], np.int64))], axis=0)
    return b.op("Transpose", [b.op("Reshape", [x, shape])], perm=[0, 2, 1, 3])


def bert(small):
    b = Builder(110)
    layers, hidden, heads, seq, vocab = (2, 128, 4, 32, 1000) if small else (12, 768, 12, 128, 30522)
    hd = hidden // heads
    ids, mask = "input_ids", "attention_mask"
    # embeddings: word + position (a slice of a buffer, as exported) + token type
    pos_ids = b.const(np.arange(512, dtype=np.int64)[None, :])
    seq_len = dim(b, ids, 1)
    pos = b.op("Slice", [pos_ids, b.const(np.array([0], np.int64)), seq_len, b.const(np.array([1], np.int64)),
                         b.const(np.array([1], np.int64))])
    e = b.op("Gather", [b.weight((vocab, hidden), 0.02), ids], axis=0)
    e = b.op("Add", [e, b.op("Gather", [b.weight((2, hidden), 0.02), b.op("Mul", [ids, b.const(np.int64(0))])], axis=0)])
    e = b.op("Add", [e, b.op("Gather", [b.weight((512, hidden), 0.02), pos], axis=0)])
    h = layer_norm(b, e, hidden)
    # the extended attention mask: (1 - mask[:, None, None, :]) * -10000
    m = b.op("Unsqueeze", [mask, b.const(np.array([1, 2], np.int64))])
    m = b.op("Cast", [m], to=TensorProto.FLOAT)
    m = b.op("Mul", [b.op("Sub", [b.const(np.float32(1.0)), m]), b.const(np.float32(-10000.0))])
    for _ in range(layers):
        q = split_heads(b, linear(b, h, hidden, hidden), heads, hd)
        k = split_heads(b, linear(b, h, hidden, hidden), heads, hd)
        v = split_heads(b, linear(b, h, hidden, hidden), heads, hd)
        s = b.op("MatMul", [q, b.op("Transpose", [k], perm=[0, 1, 3, 2])])
        s = b.op("Add", [b.op("Div", [s, b.const(np.float32(np.sqrt(hd)))]), m])
        p = b.op("Softmax", [s], axis=-1)
        c = b.op("Transpose", [b.op("MatMul", [p, v])], perm=[0, 2, 1, 3])
        c = b.op("Reshape", [c, b.op("Concat", [dim(b, c, 0), dim(b, c, 1), b.const(np.array([hidden], np.int64))], axis=0)])
        h = layer_norm(b, b.op("Add", [linear(b, c, hidden, hidden), h]), hidden)
        f = gelu(b, linear(b, h, hidden, 4 * hidden))
        h = layer_norm(b, b.op("Add", [linear(b, f, 4 * hidden, hidden), h]), hidden)
    return b.model("bert", [helper.make_tensor_value_info(ids, TensorProto.INT64, [1, seq]),
                            helper.make_tensor_value_info(mask, TensorProto.INT64, [1, seq])],
                   [helper.make_tensor_value_info(h, TensorProto.FLOAT, [1, seq, hidden])])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=["resnet50", "bert"])
    ap.add_argument("out")
    ap.add_argument("--small", action="store_true", help="same graph, small sizes (for kiln run)")
    a = ap.parse_args()
    m = (resnet50 if a.model == "resnet50" else bert)(a.small)
    onnx.save(m, a.out)


if __name__ == "__main__":
    main()
