"""Raw tensor operations that Keras models call directly (``keras.ops.pad``, ``mean``, ``matmul``...).

They appear in functional graphs as operation nodes, not layers, keyed here by their module and
class (``numpy.Mean``). Their configs count axes with the batch dimension first; archviz's
shapes leave the batch out, so the readers shift every axis by one. FLOPs follow the profiler:
a mean costs one per input element, a sum one per input element not kept, a max nothing, a
matmul or an einsum two per multiply-accumulate (the profiler itself costs an ``Einsum`` at 0: it has no
rule for it); padding, transposes, splits, stacks, tiles and added or removed axes are free. A ``weight``
is a container's own weight, a node of the traced call (:mod:`archviz.backend.keras_trace`), or a tensor
an ONNX file holds (an initializer, its elements params; a ``Constant``'s value, ``constant``: none).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import archviz.ops.onnx_attrs as onnx_attrs
from archviz.errors import UnsupportedOpError
from archviz.ops.base import Attrs, Cost, Family, Op, Shape, ShapeError, nested_ints, numel, single
from archviz.ops.field import over_axes, shift


def _axes(value: Any) -> tuple[int, ...] | None:
    """Keras axes (the batch is axis 0) as axes of a sample; None: every axis."""
    if value is None:
        return None
    axes = (value,) if isinstance(value, int) else tuple(value)
    if 0 in axes:
        raise ValueError("an operation across the batch")
    return tuple(a - 1 if a > 0 else a for a in axes)


def _write(module: str, keras_class: str, config: Callable[[Attrs], dict]) -> Callable:
    """An exporter that rebuilds the raw operation, named as the graph node."""

    def write(keras: Any, name: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
        operation = getattr(getattr(keras.src.ops, module), keras_class)
        return operation(**config(attrs), name=name)(*inputs)

    return write


def _refuse(reason: str) -> Callable:
    """An exporter for an op that has no Keras layer of its own."""

    def write(keras: Any, name: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
        raise UnsupportedOpError(f"layer {name!r}: {reason}")

    return write


def _keras_axis(axis: int) -> int:
    """An axis of a sample as a Keras axis (0 is the batch)."""
    return axis + 1 if axis >= 0 else axis


# ---- pad and transpose ------------------------------------------------------------------


def _pad_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = single(shapes, "pad")
    pads = attrs["pad_width"]
    if len(pads) != len(shape):
        raise ShapeError(f"pad widths {pads} do not fit a shape of {len(shape)} axes")
    return tuple(size + before + after for size, (before, after) in zip(shape, pads))


def _pad_read(config: Mapping[str, Any]) -> dict:
    pads = nested_ints(config["pad_width"])
    if pads[0] != (0, 0):
        raise ValueError("padding across the batch")
    return {"pad_width": pads[1:], "mode": config.get("mode", "constant")}


def _transpose_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = single(shapes, "transpose")
    axes = attrs["axes"]
    if sorted(axes) != list(range(len(shape))):
        raise ShapeError(f"axes {axes} are not a permutation of a shape of {len(shape)} axes")
    return tuple(shape[a] for a in axes)


def _transpose_read(config: Mapping[str, Any]) -> dict:
    axes = config.get("axes")
    if axes is None or axes[0] != 0:
        raise ValueError("a transpose that moves the batch")
    return {"axes": tuple(a - 1 for a in axes[1:])}


# ---- reductions -----------------------------------------------------------------------------


def _reduced(attrs: Attrs, shape: Shape) -> Shape:
    axes = attrs.get("axis")
    axes = set(range(len(shape))) if axes is None else {a % len(shape) for a in axes}
    if attrs.get("keepdims"):
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _reduction_op(name: str, keras_class: str, cost_of: Any, onnx: Mapping[str, Any] | None = None) -> Op:
    def shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
        return _reduced(attrs, single(shapes, name))

    def cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
        return Cost(flops=cost_of(numel(shapes[0]), numel(out)))

    def read(config: Mapping[str, Any]) -> dict:
        return {"axis": _axes(config.get("axis")), "keepdims": bool(config.get("keepdims", False))}

    def label(attrs: Attrs) -> str:
        return "all axes" if attrs.get("axis") is None else "axis " + ", ".join(map(str, attrs["axis"]))

    def config(attrs: Attrs) -> dict:
        axis = attrs.get("axis")
        return {
            "axis": None if axis is None else [a + 1 if a >= 0 else a for a in axis],
            "keepdims": attrs.get("keepdims", False),
        }

    return Op(
        name,
        Family.POOL,
        shape,
        cost,
        field=over_axes("axis", batch_counted=False),
        label=label,
        keras={f"numpy.{keras_class}": read},
        write=_write("numpy", keras_class, config),
        onnx=onnx or {},
    )


# ---- matmul ---------------------------------------------------------------------------------


def _operands(attrs: Attrs, shapes: Sequence[Shape]) -> tuple[Shape, Shape]:
    """The two matrices as multiplied: ``transpose_a``/``transpose_b`` (tf.matmul's) swap the last two axes."""
    if len(shapes) != 2 or min(len(s) for s in shapes) < 2:
        raise ShapeError(f"matmul takes two operands of at least two axes, got {list(shapes)}")
    a, b = (
        tuple(s[:-2]) + ((s[-1], s[-2]) if attrs.get(flag) else tuple(s[-2:]))
        for s, flag in zip(shapes, ("transpose_a", "transpose_b"))
    )
    return a, b


def _matmul_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    a, b = _operands(attrs, shapes)
    if a[-1] != b[-2]:
        raise ShapeError(f"cannot multiply matrices of shapes {a} and {b}")
    from archviz.ops.merging import broadcast

    return (*broadcast([a[:-2], b[:-2]]), a[-2], b[-1])


def _matmul_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    macs = numel(out) * _operands(attrs, shapes)[0][-1]
    return Cost(macs=macs, flops=2 * macs)


def _matmul_write(keras: Any, name: str, attrs: Attrs, inputs: list, out: Shape) -> Any:
    if attrs.get("transpose_a") or attrs.get("transpose_b"):
        raise UnsupportedOpError(f"layer {name!r}: a matmul of a transposed operand cannot be exported")
    return keras.src.ops.numpy.Matmul(name=name)(*inputs)


# ---- split, stack, expand_dims, squeeze, tile: they move values, at no cost -------------------------


def _axis(value: Any) -> int:
    """A Keras axis (0 is the batch) as an axis of a sample."""
    axis = int(value)
    if axis == 0:
        raise ValueError("an operation across the batch")
    return axis - 1 if axis > 0 else axis


def _split_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    """The first piece's shape (the others, of a split at indices, are their consumers' inputs)."""
    shape = list(single(shapes, "split"))
    axis = attrs["axis"] % len(shape)
    sections = attrs["sections"]
    if isinstance(sections, int):
        if sections <= 0 or shape[axis] % sections:
            raise ShapeError(f"cannot split {shape[axis]} values into {sections} equal parts")
        shape[axis] //= sections
    else:
        shape[axis] = min(sections[0], shape[axis]) if sections else shape[axis]
    return tuple(shape)


def _stack_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    if len(set(shapes)) != 1:
        raise ShapeError("cannot stack inputs of shapes " + ", ".join(map(str, shapes)))
    shape = list(shapes[0])
    axis = attrs["axis"] if attrs["axis"] >= 0 else len(shape) + 1 + attrs["axis"]
    return (*shape[:axis], len(shapes), *shape[axis:])


def _expand_dims_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = list(single(shapes, "expand_dims"))
    axis = attrs["axis"] if attrs["axis"] >= 0 else len(shape) + 1 + attrs["axis"]
    return (*shape[:axis], 1, *shape[axis:])


def _squeeze_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = single(shapes, "squeeze")
    axes = attrs.get("axis")
    axes = {i for i, d in enumerate(shape) if d == 1} if axes is None else {a % len(shape) for a in axes}
    if any(shape[a] != 1 for a in axes):
        raise ShapeError(f"cannot squeeze axes {sorted(axes)} of {shape}")
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _tile_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    shape = single(shapes, "tile")
    repeats = attrs["repeats"]
    shape = (1,) * (len(repeats) - len(shape)) + tuple(shape)
    return tuple(d * r for d, r in zip(shape, (1,) * (len(shape) - len(repeats)) + tuple(repeats)))


def _tile_read(config: Mapping[str, Any]) -> dict:
    repeats = nested_ints(config["repeats"])
    if isinstance(repeats, int) or len(repeats) < 2:
        raise ValueError("a tile of the batch axis alone")
    return {"repeats": repeats[1:]}


# ---- einsum: one multiply-accumulate per combination of all its indices -------------------------------


def _einsum_parts(equation: str, shapes: Sequence[Shape]) -> tuple[list[str], str, dict[str, int], str]:
    """(operands' subscripts, output's, the size of each index, the batch index or ""), with each sample's
    shapes: an operand with one subscript more than axes carries the batch as its first index."""
    inputs, _, output = equation.replace(" ", "").partition("->")
    subscripts = inputs.split(",")
    if "." in equation or not output or len(subscripts) != len(shapes):
        raise ShapeError(f"einsum {equation!r} on {len(shapes)} operands is not counted")
    sizes: dict[str, int] = {}
    batch = ""
    for subscript, shape in zip(subscripts, shapes):
        if len(subscript) == len(shape) + 1:
            batch, subscript = subscript[0], subscript[1:]
        elif len(subscript) != len(shape):
            raise ShapeError(f"einsum subscripts {subscript!r} do not fit a shape {shape}")
        for index, size in zip(subscript, shape):
            if sizes.setdefault(index, size) != size and 1 not in (size, sizes[index]):
                raise ShapeError(f"einsum index {index!r} has sizes {sizes[index]} and {size}")
            sizes[index] = max(sizes[index], size)
    return subscripts, output, sizes, batch


def _einsum_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    _, output, sizes, batch = _einsum_parts(attrs["equation"], shapes)
    return tuple(sizes[index] for index in output if index != batch)


def _einsum_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    subscripts, _, sizes, batch = _einsum_parts(attrs["equation"], shapes)
    if len(subscripts) != 2:
        raise ShapeError("an einsum of one operand is not counted")
    macs = 1
    for index, size in sizes.items():
        macs *= size if index != batch else 1
    return Cost(macs=macs, flops=2 * macs)


OPS = (
    Op(
        "pad",
        Family.RESHAPE,
        _pad_shape,
        field=shift("pad_width"),
        label=lambda attrs: str(attrs.get("mode", "constant")),
        keras={"numpy.Pad": _pad_read},
        onnx={"Pad": onnx_attrs.read_pad},
        write=_write(
            "numpy",
            "Pad",
            lambda a: {"pad_width": [[0, 0], *map(list, a["pad_width"])], "mode": a.get("mode", "constant")},
        ),
    ),
    Op(
        "transpose",
        Family.RESHAPE,
        _transpose_shape,
        keras={"numpy.Transpose": _transpose_read},
        onnx={"Transpose": onnx_attrs.read_transpose},
        write=_write("numpy", "Transpose", lambda a: {"axes": [0, *(x + 1 for x in a["axes"])]}),
    ),
    _reduction_op("mean", "Mean", lambda inputs, outputs: inputs, {"ReduceMean": onnx_attrs.read_mean}),
    _reduction_op("sum", "Sum", lambda inputs, outputs: inputs - outputs),
    _reduction_op("max", "Max", lambda inputs, outputs: 0),
    Op(
        "matmul",
        Family.DENSE,
        _matmul_shape,
        _matmul_cost,
        keras={"numpy.Matmul": lambda c: {}},
        label=lambda attrs: ", ".join(f for f in ("transpose_a", "transpose_b") if attrs.get(f)),
        write=_matmul_write,
    ),
    Op(
        "split",
        Family.RESHAPE,
        _split_shape,
        label=lambda attrs: f"{attrs['sections']} on axis {attrs['axis']}",
        keras={"numpy.Split": lambda c: {"sections": nested_ints(c["indices_or_sections"]), "axis": _axis(c["axis"])}},
        write=_refuse("a split's pieces cannot be exported: archviz keeps one output per layer"),
        onnx={"Split": onnx_attrs.read_split},
    ),
    Op(
        "stack",
        Family.MERGE,
        _stack_shape,
        keras={"numpy.Stack": lambda c: {"axis": _axis(c.get("axis", 0))}},
        write=lambda keras, name, attrs, inputs, out: keras.src.ops.numpy.Stack(
            axis=_keras_axis(attrs["axis"]), name=name
        )(inputs),
    ),
    Op(
        "expand_dims",
        Family.RESHAPE,
        _expand_dims_shape,
        keras={"numpy.ExpandDims": lambda c: {"axis": _axis(c["axis"])}},
        write=_write("numpy", "ExpandDims", lambda a: {"axis": _keras_axis(a["axis"])}),
    ),
    Op(
        "squeeze",
        Family.RESHAPE,
        _squeeze_shape,
        keras={"numpy.Squeeze": lambda c: {"axis": _axes(c.get("axis"))}},
        write=_write(
            "numpy",
            "Squeeze",
            lambda a: {"axis": None if a.get("axis") is None else [_keras_axis(x) for x in a["axis"]]},
        ),
    ),
    Op(
        "tile",
        Family.RESHAPE,
        _tile_shape,
        keras={"numpy.Tile": _tile_read},
        write=_write("numpy", "Tile", lambda a: {"repeats": [1, *a["repeats"]]}),
    ),
    Op(
        "einsum",
        Family.DENSE,
        _einsum_shape,
        _einsum_cost,
        label=lambda attrs: str(attrs["equation"]),
        keras={"numpy.Einsum": lambda c: {"equation": str(c["subscripts"])}},
        write=_write("numpy", "Einsum", lambda a: {"subscripts": a["equation"]}),
    ),
    Op(
        "weight",
        Family.IO,
        lambda attrs, shapes: tuple(attrs["shape"]),
        lambda attrs, shapes, out: (
            Cost()
            if attrs.get("constant")
            else Cost(trainable=numel(out))
            if attrs.get("trainable")
            else Cost(non_trainable=numel(out))
        ),
        label=lambda attrs: (
            "constant" if attrs.get("constant") else "trainable" if attrs.get("trainable") else "non-trainable"
        ),
        write=_refuse("a container's own weight cannot be exported: it belongs to the container's code"),
        onnx={"Constant": lambda node: {}},  # a tensor held in the file: an initializer or a Constant's value
        activation=False,
    ),
)
