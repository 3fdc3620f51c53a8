"""Build examples/mlp.onnx's content: a small MLP classifier with fixed seeded
weights, written with onnx.helper so the repository carries no binary model.

    /usr/bin/python3 examples/mlp.py OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(1)


def weight(name, *shape):
    scale = 1.0 / np.sqrt(shape[0])
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


inits = [weight("w1", 64, 32), weight("b1", 32), weight("w2", 32, 10), weight("b2", 10)]
nodes = [
    helper.make_node("MatMul", ["x", "w1"], ["h1"], name="fc1"),
    helper.make_node("Add", ["h1", "b1"], ["h2"], name="fc1_bias"),
    helper.make_node("Relu", ["h2"], ["h3"], name="relu"),
    helper.make_node("MatMul", ["h3", "w2"], ["h4"], name="fc2"),
    helper.make_node("Add", ["h4", "b2"], ["logits"], name="fc2_bias"),
    helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
]
graph = helper.make_graph(
    nodes, "mlp",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
    [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])],
    inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="kiln-examples")
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
