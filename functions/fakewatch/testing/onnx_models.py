"""Small, real ONNX classifiers built with ``onnx.helper`` — no weights are downloaded.

Each builder returns a :class:`BuiltModel`: the ``ModelProto`` and the manifest fields that
describe it (input name, layout, size, output kind, labels). :func:`write_model` writes the
``.onnx`` file and a manifest with the right sha256, ready for
:meth:`fakewatch.models.ModelRunner.load`.

- :func:`statistic_classifier` — the synthetic logit is a weighted sum of the mean R, G, B
  values of the (normalised) input, so tests can compute the expected score by hand and
  different images get different scores;
- :func:`tiny_cnn_classifier` — conv → ReLU → global average pool → gemm (→ softmax) with
  deterministic weights: the shape of a real detector, a few hundred parameters;
- :func:`efficientnet_like_classifier` — MBConv blocks with squeeze-and-excitation and SiLU
  after EfficientNet-B0 (4.0M parameters at ``width=depth=1``: B0's 5.3M less its
  1000-class head) for GPU benchmarks;
  ``width``/``depth``/``size`` shrink it for tests.

Needs the ``onnx`` package (a dev dependency); fakewatch itself only needs onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # readable by every onnxruntime since 1.14
_ELEM = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16, "uint8": TensorProto.UINT8}


@dataclass
class BuiltModel:
    """A model and the manifest fields that describe how to feed and read it."""

    model: onnx.ModelProto
    manifest: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return bytes(self.model.SerializeToString())

    @property
    def parameters(self) -> int:
        return sum(int(np.prod(t.dims)) for t in self.model.graph.initializer)


# -- the statistic classifier --------------------------------------------------------------------
def statistic_classifier(
    *,
    weights: Sequence[float] = (8.0, 0.0, -8.0),
    bias: float = 0.0,
    layout: str = "NCHW",
    size: tuple[int, int] = (32, 32),
    dtype: str = "float32",
    output: str = "logits",
    input_name: str = "image",
    output_name: str = "scores",
) -> BuiltModel:
    """logit(synthetic) = weights · mean(R, G, B) + bias; logit(real) = 0.

    With the defaults a red image leans synthetic and a blue one leans real. ``output``:
    ``logits`` (N x 2), ``probabilities`` (softmax of those) or ``sigmoid`` (N x 1 logit).
    """
    h, w = size
    shape: list[int | str] = ["N", 3, h, w] if layout == "NCHW" else ["N", h, w, 3]
    axes = [2, 3] if layout == "NCHW" else [1, 2]
    nodes, x = _cast_to_float("image_in", dtype)
    nodes.append(helper.make_node("ReduceMean", [x], ["means"], axes=axes, keepdims=0))
    wt = np.asarray(weights, np.float32).reshape(3, 1)
    if output == "sigmoid":
        gemm_w, gemm_b = wt, np.asarray([bias], np.float32)
    else:
        gemm_w = np.concatenate([np.zeros_like(wt), wt], axis=1)
        gemm_b = np.asarray([0.0, bias], np.float32)
    inits = [numpy_helper.from_array(gemm_w, "W"), numpy_helper.from_array(gemm_b, "B")]
    head = "scores_raw" if output == "probabilities" else output_name
    nodes.append(helper.make_node("Gemm", ["means", "W", "B"], [head]))
    if output == "probabilities":
        nodes.append(helper.make_node("Softmax", [head], [output_name], axis=1))
    labels = ["synthetic"] if output == "sigmoid" else ["real", "synthetic"]
    model = _model(
        nodes,
        inits,
        ("image_in", dtype, shape),
        (output_name, ["N", len(labels)]),
        "statistic_classifier",
        input_name,
    )
    return BuiltModel(model, _fields(input_name, layout, size, dtype, output_name, output, labels))


# -- the tiny CNN --------------------------------------------------------------------------------
def tiny_cnn_classifier(
    *,
    channels: int = 8,
    size: tuple[int, int] = (32, 32),
    layout: str = "NCHW",
    output: str = "logits",
    seed: int = 0,
    input_name: str = "input",
    output_name: str = "logits",
) -> BuiltModel:
    """conv 3x3 → ReLU → global average pool → gemm (→ softmax), deterministic weights."""
    rng = np.random.default_rng(seed)
    h, w = size
    shape: list[int | str] = ["N", 3, h, w] if layout == "NCHW" else ["N", h, w, 3]
    nodes: list[onnx.NodeProto] = []
    x = "image_in"
    if layout == "NHWC":
        nodes.append(helper.make_node("Transpose", [x], ["nchw"], perm=[0, 3, 1, 2]))
        x = "nchw"
    conv_w = rng.normal(0, math.sqrt(2 / 27), (channels, 3, 3, 3)).astype(np.float32)
    fc_w = rng.normal(0, 1 / math.sqrt(channels), (channels, 2)).astype(np.float32)
    inits = [
        numpy_helper.from_array(conv_w, "conv_w"),
        numpy_helper.from_array(np.zeros(channels, np.float32), "conv_b"),
        numpy_helper.from_array(fc_w, "fc_w"),
        numpy_helper.from_array(np.zeros(2, np.float32), "fc_b"),
    ]
    nodes += [
        helper.make_node("Conv", [x, "conv_w", "conv_b"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("GlobalAveragePool", ["r1"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"], axis=1),
    ]
    head = "fc" if output == "probabilities" else output_name
    nodes.append(helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], [head]))
    if output == "probabilities":
        nodes.append(helper.make_node("Softmax", [head], [output_name], axis=1))
    model = _model(
        nodes,
        inits,
        ("image_in", "float32", shape),
        (output_name, ["N", 2]),
        "tiny_cnn_classifier",
        input_name,
    )
    labels = ["real", "fake"]
    return BuiltModel(
        model,
        _fields(
            input_name, layout, size, "float32", output_name, output, labels, positive=["fake"]
        ),
    )


# -- EfficientNet-B0-like ------------------------------------------------------------------------
# (expand ratio, output channels, repeats, stride, kernel) per stage, as in EfficientNet-B0.
B0_STAGES = (
    (1, 16, 1, 1, 3),
    (6, 24, 2, 2, 3),
    (6, 40, 2, 2, 5),
    (6, 80, 3, 2, 3),
    (6, 112, 3, 1, 5),
    (6, 192, 4, 2, 5),
    (6, 320, 1, 1, 3),
)


def efficientnet_like_classifier(
    *,
    width: float = 1.0,
    depth: float = 1.0,
    size: tuple[int, int] = (224, 224),
    seed: int = 0,
    input_name: str = "input",
    output_name: str = "logits",
) -> BuiltModel:
    """An EfficientNet-B0-shaped binary classifier (batch norm folded into conv biases).

    ``width=depth=1`` gives B0's 4.0M parameters (2-class head) — a realistic load for GPU
    benchmarks. Weights are random but deterministic: it measures speed, not accuracy.
    """
    g = _GraphBuilder(np.random.default_rng(seed))
    x = g.conv_act("image_in", 3, _round(32 * width), 3, 2)
    c_in = _round(32 * width)
    for expand, c, repeats, stride, k in B0_STAGES:
        c_out = _round(c * width)
        for i in range(max(1, math.ceil(repeats * depth))):
            x = g.mbconv(x, c_in, c_out, expand, k, stride if i == 0 else 1)
            c_in = c_out
    head = _round(1280 * width)
    x = g.conv_act(x, c_in, head, 1, 1)
    x = g.node("GlobalAveragePool", [x])
    x = g.node("Flatten", [x], axis=1)
    fc_w = g.init(g.rng.normal(0, 1 / math.sqrt(head), (head, 2)))
    g.nodes.append(helper.make_node("Gemm", [x, fc_w, g.init(np.zeros(2))], [output_name]))
    h, w = size
    model = _model(
        g.nodes,
        g.inits,
        ("image_in", "float32", ["N", 3, h, w]),
        (output_name, ["N", 2]),
        "efficientnet_like_classifier",
        input_name,
    )
    fields = _fields(
        input_name,
        "NCHW",
        size,
        "float32",
        output_name,
        "logits",
        ["real", "fake"],
        positive=["fake"],
    )
    fields["input"].update(scale=1 / 255, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    return BuiltModel(model, fields)


def _round(channels: float) -> int:
    return max(8, int(channels + 4) // 8 * 8)


class _GraphBuilder:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self._n}"

    def init(self, array: np.ndarray) -> str:
        name = self.name("w")
        self.inits.append(numpy_helper.from_array(np.asarray(array, np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], **attrs: Any) -> str:
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def conv(self, x: str, c_in: int, c_out: int, k: int, stride: int, groups: int = 1) -> str:
        fan_in = (c_in // groups) * k * k
        weight = self.rng.normal(0, math.sqrt(2 / fan_in), (c_out, c_in // groups, k, k))
        pad = k // 2
        return self.node(
            "Conv",
            [x, self.init(weight), self.init(np.zeros(c_out))],
            strides=[stride, stride],
            pads=[pad] * 4,
            group=groups,
        )

    def silu(self, x: str) -> str:
        return self.node("Mul", [x, self.node("Sigmoid", [x])])

    def conv_act(self, x: str, c_in: int, c_out: int, k: int, stride: int) -> str:
        return self.silu(self.conv(x, c_in, c_out, k, stride))

    def mbconv(self, x: str, c_in: int, c_out: int, expand: int, k: int, stride: int) -> str:
        mid = c_in * expand
        y = self.conv_act(x, c_in, mid, 1, 1) if expand != 1 else x
        y = self.silu(self.conv(y, mid, mid, k, stride, groups=mid))  # depthwise
        squeeze = max(1, c_in // 4)  # squeeze-and-excitation
        s = self.node("GlobalAveragePool", [y])
        s = self.silu(self.conv(s, mid, squeeze, 1, 1))
        s = self.node("Sigmoid", [self.conv(s, squeeze, mid, 1, 1)])
        y = self.node("Mul", [y, s])
        y = self.conv(y, mid, c_out, 1, 1)
        return self.node("Add", [x, y]) if stride == 1 and c_in == c_out else y


# -- shared plumbing -----------------------------------------------------------------------------
def _cast_to_float(x: str, dtype: str) -> tuple[list[onnx.NodeProto], str]:
    if dtype == "float32":
        return [], x
    return [helper.make_node("Cast", [x], ["as_float"], to=TensorProto.FLOAT)], "as_float"


def _model(
    nodes: list[onnx.NodeProto],
    inits: list[onnx.TensorProto],
    inp: tuple[str, str, list[int | str]],
    out: tuple[str, list[int | str]],
    graph_name: str,
    input_name: str,
) -> onnx.ModelProto:
    internal, dtype, shape = inp
    if input_name != internal:  # graph nodes read ``internal``; expose the chosen name
        nodes = [helper.make_node("Identity", [input_name], [internal]), *nodes]
    graph = helper.make_graph(
        nodes,
        graph_name,
        [helper.make_tensor_value_info(input_name, _ELEM[dtype], shape)],
        [helper.make_tensor_value_info(out[0], TensorProto.FLOAT, out[1])],
        initializer=inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="fakewatch.testing"
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def _fields(
    input_name: str,
    layout: str,
    size: tuple[int, int],
    dtype: str,
    output_name: str,
    output: str,
    labels: list[str],
    positive: list[str] | None = None,
) -> dict[str, Any]:
    scale = 1.0 if dtype == "uint8" else 1 / 255
    return {
        "input": {
            "name": input_name,
            "layout": layout,
            "size": list(size),
            "dtype": dtype,
            "scale": scale,
        },
        "output": {
            "name": output_name,
            "kind": output,
            "labels": labels,
            "positive": positive or ["synthetic"],
        },
    }


# -- writing model + manifest --------------------------------------------------------------------
def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_for(built: BuiltModel, data: bytes | None = None, **overrides: Any) -> dict[str, Any]:
    """A complete, valid manifest dict for ``built``; ``overrides`` merge into it (dicts
    merge one level deep; ``None`` removes a field)."""
    data = built.to_bytes() if data is None else data
    doc: dict[str, Any] = {
        "manifest_version": 1,
        "name": "test-model",
        "version": "1.0.0",
        "sha256": sha256_hex(data),
        "file": "model.onnx",
        "task": "binary-classification",
        "modality": "image",
        "crop": "whole_image",
        "license": "Apache-2.0",
        "source": "built by fakewatch.testing.onnx_models",
        "domain": "synthetic test patterns only; says nothing about real media",
        **json.loads(json.dumps(built.manifest)),
    }
    for key, value in overrides.items():
        if value is None:
            doc.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(doc.get(key), dict):
            doc[key] = {**doc[key], **value}
        else:
            doc[key] = value
    return doc


def write_model(
    directory: Path,
    built: BuiltModel,
    *,
    model_file: str = "model.onnx",
    manifest_file: str = "manifest.json",
    **overrides: Any,
) -> Path:
    """Write ``model_file`` and a manifest naming it in ``directory``; return the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    data = built.to_bytes()
    (directory / model_file).write_bytes(data)
    doc = manifest_for(built, data, file=model_file, **overrides)
    path = directory / manifest_file
    if manifest_file.endswith((".yaml", ".yml")):
        import yaml

        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    else:
        path.write_text(json.dumps(doc, indent=2))
    return path


# -- inputs for face-crop models -----------------------------------------------------------------
def schematic_face(face: int = 200, canvas: tuple[int, int] = (400, 400)) -> np.ndarray:
    """An RGB frame holding a drawn, blurred frontal face (no real person) that OpenCV's
    frontal-face Haar cascade detects; ``face`` is its width in pixels."""
    from PIL import Image, ImageDraw, ImageFilter

    s = face / 256
    im = Image.new("L", (face, face), 60)
    d = ImageDraw.Draw(im)
    d.ellipse([48 * s, 30 * s, 208 * s, 230 * s], fill=190)  # face
    d.ellipse([78 * s, 95 * s, 118 * s, 115 * s], fill=40)  # eyes
    d.ellipse([138 * s, 95 * s, 178 * s, 115 * s], fill=40)
    d.rectangle([70 * s, 80 * s, 122 * s, 88 * s], fill=80)  # brows
    d.rectangle([134 * s, 80 * s, 186 * s, 88 * s], fill=80)
    d.polygon([(128 * s, 110 * s), (116 * s, 160 * s), (140 * s, 160 * s)], fill=150)  # nose
    d.ellipse([98 * s, 175 * s, 158 * s, 195 * s], fill=70)  # mouth
    drawn = np.asarray(im.filter(ImageFilter.GaussianBlur(3 * s)))
    h, w = canvas
    out = np.full((h, w), 60, np.uint8)
    top, left = (h - face) // 2, (w - face) // 2
    out[top : top + face, left : left + face] = drawn
    return np.repeat(out[:, :, None], 3, axis=2)
