"""The receptive field: how many input pixels reach one feature, how far apart neighbouring features
are in the input, and where the first one starts (Araujo, Norris and Sim, "Computing Receptive Fields
of Convolutional Neural Networks", Distill 2019).

A layer's field is a :class:`Field` (size, effective stride and effective padding, one value per
spatial axis), :data:`GLOBAL` where the output depends on the whole input (after a global pooling, a
flatten, a mean over the spatial axes), or None where it is unknown. Each op's rule (``Op.field``) is
a pure function of its attributes, its input shapes and its inputs' fields; a sliding window of kernel
``k``, stride ``s``, dilation ``d`` and padding before ``p_l`` on an input field ``(r, j, p)`` gives

    r' = r + (d (k - 1)) j,    j' = j s,    p' = p + p_l j

with TensorFlow's ``same`` padding ``p_l = total // 2``, ``total = max((ceil(n / s) - 1) s + d (k - 1)
+ 1 - n, 0)`` for an input of length ``n`` (the extra pixel goes at the end; so the padding follows
``--input-shape``). Paths that merge must agree on the stride; the size is the largest over the paths,
with that path's padding; paths whose strides or centres differ give that value and a note (:func:`merge`).

>>> conv = window("kernel")
>>> start = Field((1, 1), (1, 1), (0, 0))
>>> conv({"kernel": 3, "dilation": 2, "padding": "same"}, [(32, 32, 8)], [start]).size
(5, 5)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from archviz.datarecord import RecordTuple
from archviz.ops.base import Attrs, Family, Op, Shape, ntuple, padding_pairs

#: The field of an output that depends on the whole input.
GLOBAL = "global"


class Field(RecordTuple):
    """Size, effective stride and effective padding per spatial axis (height, width); padding is None
    where it depends on an input size the model leaves open. (A NamedTuple: one is made per layer.)"""

    size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": list(self.size),
            "stride": list(self.stride),
            "padding": None if self.padding is None else list(self.padding),
        }


def _axes(values: Sequence[int | float]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


#: The names of the spatial axes, by their number.
AXES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}

#: A layer's receptive field: a Field, GLOBAL, or None (unknown).
Value = Field | str | None
#: (attrs, input shapes, input fields) -> the output's field
FieldRule = Callable[[Attrs, Sequence[Shape], Sequence[Value]], Value]


class Misaligned(Exception):
    """Paths merge with different strides or centres; ``value`` is the field the merge still gets."""

    def __init__(self, message: str, value: Value) -> None:
        super().__init__(message)
        self.value = value


def start(attrs: Attrs, shapes: Sequence[Shape], fields: Sequence[Value]) -> Value:
    """A model input: each pixel sees itself (None for a vector input, which has no spatial axes)."""
    spatial = len(shapes[0]) - 1 if shapes else 0
    return Field((1,) * spatial, (1,) * spatial, (0,) * spatial) if spatial > 0 else None


def _one(fields: Sequence[Value]) -> Value:
    return fields[0] if len(fields) == 1 else None


def passthrough(attrs: Attrs, shapes: Sequence[Shape], fields: Sequence[Value]) -> Value:
    """An op applied at each position (activation, batch norm, dropout): the input's field, unchanged."""
    return _one(fields)


def whole(attrs: Attrs, shapes: Sequence[Shape], fields: Sequence[Value]) -> Value:
    """An output that depends on the whole input (global pooling, flatten): global."""
    return GLOBAL if _one(fields) is not None else None


def keeps_global(attrs: Attrs, shapes: Sequence[Shape], fields: Sequence[Value]) -> Value:
    """A reshape: a global input stays global; a spatial one is rearranged, so unknown."""
    return GLOBAL if fields and all(f == GLOBAL for f in fields) else None


def per_position(attrs: Attrs, shapes: Sequence[Shape], fields: Sequence[Value]) -> Value:
    """A dense layer: per position on a feature map (a 1x1 convolution), global on a vector."""
    if not shapes or len(shapes[0]) > 1:
        return _one(fields)
    return whole(attrs, shapes, fields)


def over_axes(key: str, *, batch_counted: bool) -> FieldRule:
    """An op over ``attrs[key]`` axes (a reduction, a normalization): global where they include every
    spatial axis (None: every axis), per position where they include none; over some spatial axes only
    (a mean over the width) the rule refuses the layer, saying why (the field is then unknown).
    ``batch_counted``: the axes count the batch as 0 (Keras's)."""

    def rule(attrs: Attrs, shapes: Sequence[Shape], fields: Sequence[Value]) -> Value:
        shape = shapes[0] if shapes else ()
        axes = attrs.get(key)
        if axes is None:
            return whole(attrs, shapes, fields)
        values = (axes,) if isinstance(axes, int) else tuple(axes)
        indices = {(a - 1 if a > 0 else len(shape) + a) if batch_counted else a % max(len(shape), 1) for a in values}
        spatial = set(range(len(shape) - 1))
        hit = indices & spatial
        if not hit:
            return _one(fields)
        if hit == spatial:
            return whole(attrs, shapes, fields)
        names = AXES.get(len(spatial), tuple(f"axis {i}" for i in range(len(spatial))))
        along = " and ".join(names[i] for i in sorted(hit))
        raise ValueError(f"it acts along the whole {along} only, which a size and a stride cannot say")

    return rule


def along_axis(attrs: Attrs, shapes: Sequence[Shape], fields: Sequence[Value]) -> Value:
    """An op along one axis (a softmax over ``attrs["axis"]``, Keras's number, the batch 0; absent: the
    channels): each position's own where the axis is the channels, global where it is a spatial axis (a
    softmax over the width mixes every column)."""
    if attrs.get("axis") is None:
        return passthrough(attrs, shapes, fields)
    return over_axes("axis", batch_counted=True)(attrs, shapes, fields)


def _same_before(size: int, span: int, stride: int) -> int | None:
    """TensorFlow's ``same`` padding before the first pixel (None where it needs an open size)."""
    if size < 0:  # known if every size gives it: the padding depends on the size modulo the stride only
        befores = {_same_before(n, span, stride) for n in range(span, span + stride)}
        return befores.pop() if len(befores) == 1 else None
    total = max((-(-size // stride) - 1) * stride + span - size, 0)
    return total // 2


def window(key: str, *, stride_key: str | None = "strides") -> FieldRule:
    """A sliding window (convolution, pooling): kernel ``attrs[key]``, stride ``attrs[stride_key]``
    (defaulting to 1, or to the window for a pool), dilation, and ``valid``, ``same``, ``causal`` or
    explicit padding."""

    def rule(attrs: Attrs, shapes: Sequence[Shape], fields: Sequence[Value]) -> Value:
        field = _one(fields)
        if not isinstance(field, Field):
            return field
        n = len(field.size)
        kernel = ntuple(attrs[key], n, "kernel")
        default = 1 if key == "kernel" else kernel
        strides = ntuple(attrs.get(stride_key, default) if stride_key else default, n, "strides")
        dilation = ntuple(attrs.get("dilation", 1), n, "dilation")
        padding = attrs.get("padding", "valid")
        sizes, strides_out, pads = [], [], []
        for i in range(n):
            span = dilation[i] * (kernel[i] - 1) + 1
            if padding == "valid":
                before: int | None = 0
            elif padding == "same":
                before = _same_before(shapes[0][i], span, strides[i])
            elif padding == "causal":
                before = span - 1
            else:
                before = _explicit(padding, n)[i][0]
            sizes.append(field.size[i] + (span - 1) * field.stride[i])
            strides_out.append(field.stride[i] * strides[i])
            pads.append(
                None if before is None or field.padding is None else field.padding[i] + before * field.stride[i]
            )
        padding_out = None if any(p is None for p in pads) else tuple(p for p in pads if p is not None)
        return Field(tuple(sizes), tuple(strides_out), padding_out)

    return rule


def _explicit(padding: Any, n: int) -> tuple[tuple[int, int], ...]:
    if n == 2:
        return padding_pairs(padding)
    if isinstance(padding, int):
        return ((padding, padding),) * n
    return tuple((p, p) if isinstance(p, int) else (int(p[0]), int(p[1])) for p in padding)


def shift(key: str, *, sign: int = 1) -> FieldRule:
    """Zero padding (``sign`` 1) or cropping (-1) by ``attrs[key]``: the field's size and stride are
    kept, its padding grows (or shrinks) by what is added before the first pixel."""

    def rule(attrs: Attrs, shapes: Sequence[Shape], fields: Sequence[Value]) -> Value:
        field = _one(fields)
        if not isinstance(field, Field) or field.padding is None:
            return field
        n = len(field.size)
        value = attrs[key]
        if key == "pad_width":  # keras.ops.pad: one pair per axis after the batch, channels included
            pads = tuple((int(before), int(after)) for before, after in tuple(value)[:n])
        else:
            pads = _explicit(value if not isinstance(value, tuple) or n != 1 else (value,), n)
        return Field(
            field.size,
            field.stride,
            tuple(p + sign * before * j for p, (before, _), j in zip(field.padding, pads, field.stride)),
        )

    return rule


def subsample(attrs: Attrs, shapes: Sequence[Shape], fields: Sequence[Value]) -> Value:
    """The option-A shortcut: every ``strides``-th pixel (a 1x1 window of that stride)."""
    return window("kernel")({"kernel": 1, "strides": attrs.get("strides", 1)}, shapes, fields)


def _centre(field: Field, axis: int) -> int | float:
    """Where the first feature's receptive field is centred, in input pixels: ``(r - 1) / 2 - p``."""
    centre = (field.size[axis] - 1) / 2 - field.padding[axis]  # type: ignore[index]
    return int(centre) if centre == int(centre) else centre


def merge(attrs: Attrs, shapes: Sequence[Shape], fields: Sequence[Value]) -> Value:
    """Paths that meet (add, concatenate, multiply): global if any is, unknown if any is; else the largest
    size per axis with that path's padding. Raises :class:`Misaligned` (carrying that value) where the
    strides differ or the centres ``(r - 1) / 2 - p`` of the paths do not coincide."""
    if not fields:
        return None
    if any(f is None for f in fields):
        return None
    if any(f == GLOBAL for f in fields):
        return GLOBAL
    spatial = [f for f in fields if isinstance(f, Field)]
    n = len(spatial[0].size)
    if any(len(f.size) != n for f in spatial):
        return None
    best = [max(spatial, key=lambda f: f.size[i]) for i in range(n)]
    padding = None if any(f.padding is None for f in spatial) else tuple(best[i].padding[i] for i in range(n))  # type: ignore[index]
    value = Field(tuple(b.size[i] for i, b in enumerate(best)), tuple(b.stride[i] for i, b in enumerate(best)), padding)
    names = AXES.get(n, tuple(f"axis {i}" for i in range(n)))
    if any(len({f.stride[i] for f in spatial}) > 1 for i in range(n)):
        steps = sorted({_axes(f.stride) for f in spatial})
        raise Misaligned(f"paths with different effective strides ({' and '.join(steps)}) merge", value)
    if padding is not None:
        centres = [i for i in range(n) if len({_centre(f, i) for f in spatial}) > 1]
        if centres:
            where = " and ".join(names[i] for i in centres)
            places = sorted({tuple(_centre(f, i) for i in centres) for f in spatial})
            found = " and ".join(_axes(place) for place in places)
            raise Misaligned(
                f"paths whose first features are centred on different input pixels merge ({where}: {found})", value
            )
    return value


#: The rule of an op whose entry declares none, by family: per-position ops pass the field through,
#: merges merge it. Other families (reshapes, attention, matmul) have no default: unknown, and listed.
FAMILY_RULES: dict[Family, FieldRule] = {
    Family.ACTIVATION: passthrough,
    Family.NORM: passthrough,
    Family.REGULARIZATION: passthrough,
    Family.MERGE: merge,
}


def field_rule(op: Op) -> FieldRule | None:
    """The receptive-field rule of ``op``: its own, or its family's (None: no rule)."""
    return op.field if op.field is not None else FAMILY_RULES.get(op.family)
