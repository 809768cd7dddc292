"""Attention's pieces: Keras's ``EinsumDense`` (the projections of ``MultiHeadAttention``), the raw
``keras.ops.dot_product_attention`` and ``Embedding``.

An einsum is costed like a matmul, one MAC per combination of all its indices and two FLOPs per MAC.
The profiler itself has no rule for TensorFlow's ``Einsum`` and costs it at 0, so for a model with
einsums archviz's total is the profiler's plus twice the einsums' MACs. ``dot_product_attention`` is,
in TensorFlow, an einsum for the logits, a scaling multiply, a softmax (5 per logit, as the profiler
counts one) and an einsum with the values; without a scale given, one division computes it per call
(the scale a call passes is not in a functional graph's config, which is read as none given). An
embedding is a lookup, after Keras wraps negative indices: a compare and an add per index, as the
profiler counts them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from archviz.ops.base import (
    Attrs,
    Cost,
    Family,
    Op,
    Shape,
    ShapeError,
    activation_flops,
    activation_from_keras,
    activation_to_keras,
    numel,
    single,
)

# ---- EinsumDense: an einsum of the input and a kernel, a bias and an activation --------------------


def _einsum_dense_parts(attrs: Attrs, shape: Shape) -> tuple[dict[str, int], str]:
    """(the size of every index but the batch, the output's indices without the batch)."""
    inputs, _, output = str(attrs["equation"]).replace(" ", "").partition("->")
    given, _, kernel = inputs.partition(",")
    if "." in given or len(given) != len(shape) + 1 or len(output) != len(attrs["output_shape"]) + 1:
        raise ShapeError(f"einsum {attrs['equation']!r} does not fit an input of shape {shape}")
    sizes = dict(zip(given[1:], shape))
    for index, size in zip(output[1:], attrs["output_shape"]):
        if index not in sizes:
            if size < 0:
                raise ShapeError(f"einsum {attrs['equation']!r}: the size of {index!r} is open")
            sizes[index] = size
    if any(index not in sizes for index in kernel):
        raise ShapeError(f"einsum {attrs['equation']!r} sums over a kernel index")
    return sizes, output[1:]


def _einsum_dense_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    sizes, output = _einsum_dense_parts(attrs, single(shapes, "einsum_dense"))
    return tuple(sizes[index] for index in output)


def _einsum_dense_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    sizes, _ = _einsum_dense_parts(attrs, shapes[0])
    macs = 1
    for size in sizes.values():
        macs *= size
    kernel = str(attrs["equation"]).split("->")[0].split(",")[1]
    weights = 1
    for index in kernel:
        weights *= sizes[index]
    bias = 1
    for index in attrs.get("bias_axes") or "":
        bias *= sizes[index]
    has_bias = bool(attrs.get("bias_axes"))
    flops = 2 * macs + (numel(out) if has_bias else 0) + activation_flops(attrs.get("activation"), numel(out))
    return Cost(trainable=weights + (bias if has_bias else 0), macs=macs, flops=flops)


def _einsum_dense_read(config: Mapping[str, Any]) -> dict:
    shape = config["output_shape"]
    shape = (shape,) if isinstance(shape, int) or shape is None else tuple(shape)
    attrs = {
        "equation": str(config["equation"]),
        "output_shape": tuple(-1 if d is None else int(d) for d in shape),
        "bias_axes": str(config.get("bias_axes") or ""),
    }
    activation = activation_from_keras(config.get("activation"))
    if activation:
        attrs["activation"] = activation
    return attrs


# ---- dot_product_attention -----------------------------------------------------------------------


def _attention_shape(attrs: Attrs, shapes: Sequence[Shape]) -> Shape:
    """Query (T, N, H), key and value (S, N, H): the output is the query's shape."""
    if len(shapes) != 3:
        raise ShapeError("an attention with a bias or a mask operand is not counted")
    query, key, value = shapes
    if len(query) != 3 or key != value or key[1:] != query[1:]:
        raise ShapeError(f"attention operands of shapes {query}, {key}, {value} do not fit")
    return query


def _attention_cost(attrs: Attrs, shapes: Sequence[Shape], out: Shape) -> Cost:
    if attrs.get("soft_cap") is not None:
        raise ShapeError("an attention with a soft cap on its logits is not counted")
    (steps, heads, depth), sources = shapes[0], shapes[1][0]
    logits = heads * steps * sources
    macs = 2 * logits * depth
    # without a scale given, TensorFlow computes 1 / sqrt(H) once per call: one division
    return Cost(macs=macs, flops=2 * macs + logits + 5 * logits, fixed_flops=0 if attrs.get("scaled") else 1)


OPS = (
    Op(
        "einsum_dense",
        Family.DENSE,
        _einsum_dense_shape,
        _einsum_dense_cost,
        weighted=True,
        label=lambda attrs: str(attrs["equation"]),
        keras={"EinsumDense": _einsum_dense_read},
        write=lambda keras, name, attrs, inputs, out: keras.layers.EinsumDense(
            attrs["equation"],
            tuple(None if d < 0 else d for d in attrs["output_shape"]),
            bias_axes=attrs.get("bias_axes") or None,
            activation=activation_to_keras(attrs.get("activation")),
            name=name,
        )(inputs[0]),
    ),
    Op(
        "dot_product_attention",
        Family.DENSE,
        _attention_shape,
        _attention_cost,
        keras={
            "nn.DotProductAttention": lambda config: {
                "soft_cap": config.get("attn_logits_soft_cap"),
                "scaled": config.get("scale") is not None,
            }
        },
        write=lambda keras, name, attrs, inputs, out: keras.src.ops.nn.DotProductAttention(
            attn_logits_soft_cap=attrs.get("soft_cap"), name=name
        )(*inputs),
    ),
    Op(
        "embedding",
        Family.RESHAPE,
        lambda attrs, shapes: (*single(shapes, "embedding"), attrs["output_dim"]),
        lambda attrs, shapes, out: Cost(trainable=attrs["input_dim"] * attrs["output_dim"], flops=2 * numel(shapes[0])),
        label=lambda attrs: f"{attrs['input_dim']} x {attrs['output_dim']}",
        keras={
            "Embedding": lambda config: {"input_dim": int(config["input_dim"]), "output_dim": int(config["output_dim"])}
        },
        write=lambda keras, name, attrs, inputs, out: keras.layers.Embedding(
            attrs["input_dim"], attrs["output_dim"], name=name
        )(inputs[0]),
    ),
)
