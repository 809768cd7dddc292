"""From the layer graph to a functional ``keras.Model`` whose layer names are the graph's names.

Only built-in Keras layers are used, so an exported ``.keras`` file loads anywhere with
safe mode on. Two graph ops have no single Keras layer:

* explicit (torch-style) padding of a conv or pool becomes ``ZeroPadding2D`` named
  ``<name>_pad`` before a ``valid`` conv or pool (for a max-pool after a ReLU, zeros and
  minus infinity pad alike);
* option A's zero-padding shortcut becomes a 1x1 ``MaxPooling2D`` with the stride
  (``<name>_subsample``), then ``Reshape``/``ZeroPadding3D``/``Reshape`` padding the channels.
"""

from __future__ import annotations

from typing import Any, Callable

from archviz.backend import keras as _keras
from archviz.backend import recursion_limit
from archviz.errors import UnsupportedOpError
from archviz.graph import Graph, Node
from archviz.analysis import analyze_graph

KERAS_ACTIVATIONS = {"swish": "silu"}


def _padding(graph_padding: Any) -> tuple[str, Any]:
    """(keras padding, explicit ((t, b), (l, r)) or None)."""
    if graph_padding in ("same", "valid"):
        return graph_padding, None
    if isinstance(graph_padding, int):
        graph_padding = ((graph_padding, graph_padding), (graph_padding, graph_padding))
    return "valid", tuple(tuple(int(v) for v in pair) for pair in graph_padding)


def _padded(keras: Any, node: Node, x: Any, padding: Any) -> tuple[Any, str]:
    mode, explicit = _padding(padding)
    if explicit is not None and any(any(pair) for pair in explicit):
        x = keras.layers.ZeroPadding2D(padding=explicit, name=f"{node.name}_pad")(x)
    return x, mode


def _activation(name: str | None) -> str | None:
    return None if name in (None, "linear") else KERAS_ACTIVATIONS.get(name, name)


def _conv(keras: Any, node: Node, inputs: list, shapes: dict) -> Any:
    a = node.attrs
    x, mode = _padded(keras, node, inputs[0], a.get("padding", "valid"))
    return keras.layers.Conv2D(a["filters"], tuple(a["kernel"]), strides=tuple(a.get("strides", (1, 1))),
                               padding=mode, dilation_rate=tuple(a.get("dilation", (1, 1))),
                               groups=a.get("groups", 1), use_bias=a.get("use_bias", True),
                               activation=_activation(a.get("activation")), name=node.name)(x)


def _depthwise(keras: Any, node: Node, inputs: list, shapes: dict) -> Any:
    a = node.attrs
    x, mode = _padded(keras, node, inputs[0], a.get("padding", "valid"))
    return keras.layers.DepthwiseConv2D(tuple(a["kernel"]), strides=tuple(a.get("strides", (1, 1))), padding=mode,
                                        depth_multiplier=a.get("depth_multiplier", 1),
                                        dilation_rate=tuple(a.get("dilation", (1, 1))),
                                        use_bias=a.get("use_bias", True),
                                        activation=_activation(a.get("activation")), name=node.name)(x)


def _pool(layer: str) -> Callable:
    def make(keras: Any, node: Node, inputs: list, shapes: dict) -> Any:
        a = node.attrs
        x, mode = _padded(keras, node, inputs[0], a.get("padding", "valid"))
        return getattr(keras.layers, layer)(pool_size=tuple(a["pool"]), strides=tuple(a.get("strides", a["pool"])),
                                            padding=mode, name=node.name)(x)

    return make


def _pad_shortcut(keras: Any, node: Node, inputs: list, shapes: dict) -> Any:
    x = inputs[0]
    stride = node.attrs.get("strides", 1)
    if stride != 1:
        x = keras.layers.MaxPooling2D(pool_size=1, strides=stride, name=f"{node.name}_subsample")(x)
    height, width, channels = shapes[node.name]
    before = (channels - x.shape[-1]) // 2
    after = channels - x.shape[-1] - before
    x = keras.layers.Reshape((height, width, x.shape[-1], 1), name=f"{node.name}_expand")(x)
    x = keras.layers.ZeroPadding3D(((0, 0), (0, 0), (before, after)), name=f"{node.name}_zeros")(x)
    return keras.layers.Reshape((height, width, channels), name=node.name)(x)


def _simple(factory: Callable[[Any, Node], Any], many: bool = False) -> Callable:
    def make(keras: Any, node: Node, inputs: list, shapes: dict) -> Any:
        return factory(keras, node)(inputs if many else inputs[0])

    return make


LAYERS: dict[str, Callable] = {
    "conv2d": _conv,
    "depthwise_conv2d": _depthwise,
    "batch_norm": _simple(lambda k, n: k.layers.BatchNormalization(epsilon=n.attrs.get("epsilon", 1e-3),
                                                                   center=n.attrs.get("center", True),
                                                                   scale=n.attrs.get("scale", True), name=n.name)),
    "activation": _simple(lambda k, n: k.layers.Activation(_activation(n.attrs["fn"]) or "linear", name=n.name)),
    "zero_pad2d": _simple(lambda k, n: k.layers.ZeroPadding2D(_padding(n.attrs["padding"])[1], name=n.name)),
    "max_pool2d": _pool("MaxPooling2D"),
    "avg_pool2d": _pool("AveragePooling2D"),
    "global_avg_pool2d": _simple(lambda k, n: k.layers.GlobalAveragePooling2D(
        keepdims=n.attrs.get("keepdims", False), name=n.name)),
    "global_max_pool2d": _simple(lambda k, n: k.layers.GlobalMaxPooling2D(
        keepdims=n.attrs.get("keepdims", False), name=n.name)),
    "flatten": _simple(lambda k, n: k.layers.Flatten(name=n.name)),
    "reshape": _simple(lambda k, n: k.layers.Reshape(tuple(n.attrs["target_shape"]), name=n.name)),
    "zero_pad3d": _simple(lambda k, n: k.layers.ZeroPadding3D(tuple(tuple(p) for p in n.attrs["padding"]),
                                                               name=n.name)),
    "dense": _simple(lambda k, n: k.layers.Dense(n.attrs["units"], use_bias=n.attrs.get("use_bias", True),
                                                 activation=_activation(n.attrs.get("activation")), name=n.name)),
    "add": _simple(lambda k, n: k.layers.Add(name=n.name), many=True),
    "multiply": _simple(lambda k, n: k.layers.Multiply(name=n.name), many=True),
    "concat": _simple(lambda k, n: k.layers.Concatenate(name=n.name), many=True),
    "dropout": _simple(lambda k, n: k.layers.Dropout(n.attrs.get("rate", 0.0), name=n.name)),
    "pad_shortcut": _pad_shortcut,
}


def to_keras(graph: Graph) -> Any:
    """A functional ``keras.Model`` (untrained weights) with the graph's layers and names."""
    keras = _keras()
    summary = analyze_graph(graph)  # shapes, and an error naming any op without a rule
    shapes = {record.name: record.output_shape for record in summary.records}
    tensors: dict[str, Any] = {}
    inputs = []
    for node in graph:
        if node.op == "input":
            tensors[node.name] = keras.Input(shape=tuple(node.attrs["shape"]), name=node.name)
            inputs.append(tensors[node.name])
            continue
        try:
            make = LAYERS[node.op]
        except KeyError:
            raise UnsupportedOpError(f"layer {node.name!r}: op {node.op!r} cannot be exported to Keras") from None
        tensors[node.name] = make(keras, node, [tensors[source] for source in node.inputs], shapes)
    outputs = [tensors[name] for name in graph.outputs]
    with recursion_limit(20 * len(graph) + 2000):  # Keras maps a functional graph recursively
        return keras.Model(inputs=inputs if len(inputs) > 1 else inputs[0],
                           outputs=outputs if len(outputs) > 1 else outputs[0], name=_model_name(graph.name))



def _model_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in name)
