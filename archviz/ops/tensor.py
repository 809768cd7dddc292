"""Raw tensor operations that Keras models call directly (``keras.ops.pad``, ``mean``, ``matmul``...).

They appear in functional graphs as operation nodes, not layers, keyed here by their module and
class (``numpy.Mean``). Their configs count axes with the batch dimension first; archviz's
shapes leave the batch out, so the readers shift every axis by one. FLOPs follow the profiler:
a mean costs one per input element, a sum one per input element not kept, a max nothing, a
matmul two per multiply-accumulate; padding and transposes are free.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from archviz.ops.base import Attrs, Cost, Family, Op, Shape, ShapeError, nested_ints, numel, single


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


def _reduction_op(name: str, keras_class: str, cost_of: Any) -> Op:
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
        return {"axis": None if axis is None else [a + 1 if a >= 0 else a for a in axis],
                "keepdims": attrs.get("keepdims", False)}

    return Op(name, Family.POOL, shape, cost, label=label, keras={f"numpy.{keras_class}": read},
              write=_write("numpy", keras_class, config))


# ---- matmul ---------------------------------------------------------------------------------


def _matmul_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    if len(shapes) != 2 or min(len(s) for s in shapes) < 2:
        raise ShapeError(f"matmul takes two operands of at least two axes, got {list(shapes)}")
    (a, b) = shapes
    if a[-1] != b[-2]:
        raise ShapeError(f"cannot multiply matrices of shapes {a} and {b}")
    from archviz.ops.structure import broadcast

    return (*broadcast([a[:-2], b[:-2]]), a[-2], b[-1])


def _matmul_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    macs = numel(out) * shapes[0][-1]
    return Cost(macs=macs, flops=2 * macs)


OPS = (
    Op("pad", Family.RESHAPE, _pad_shape, label=lambda attrs: str(attrs.get("mode", "constant")),
       keras={"numpy.Pad": _pad_read},
       write=_write("numpy", "Pad", lambda a: {"pad_width": [[0, 0], *map(list, a["pad_width"])],
                                               "mode": a.get("mode", "constant")})),
    Op("transpose", Family.RESHAPE, _transpose_shape, keras={"numpy.Transpose": _transpose_read},
       write=_write("numpy", "Transpose", lambda a: {"axes": [0, *(x + 1 for x in a["axes"])]})),
    _reduction_op("mean", "Mean", lambda inputs, outputs: inputs),
    _reduction_op("sum", "Sum", lambda inputs, outputs: inputs - outputs),
    _reduction_op("max", "Max", lambda inputs, outputs: 0),
    Op("matmul", Family.DENSE, _matmul_shape, _matmul_cost, keras={"numpy.Matmul": lambda c: {}},
       write=_write("numpy", "Matmul", lambda a: {})),
)

