"""What an op's training rule says: the cost of one sample's backward pass and the tensors it keeps.

Each op's entry in the op table (:class:`~archviz.ops.base.Op`) holds its ``backward`` rule next to its
forward rule; :mod:`archviz.core.training` walks the analysed layers once applying them. The rules
follow what TensorFlow's gradient of the exported Keras model computes (checked against the training
step's graph by :mod:`archviz.backend.gradient`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from archviz.datarecord import RecordTuple
from archviz.errors import UnsupportedOpError

Shape = tuple[int, ...]
Attrs = Mapping[str, Any]


class Backward(RecordTuple):
    """What one sample's backward pass of an op costs, and what it keeps from the forward pass.

    ``weight_macs`` and ``input_macs`` are the multiply-accumulates of the gradients of its weights and of
    its input (the rule gives ``input_macs`` only where the input gradient is wanted); ``flops`` its other
    floating-point operations (besides 2 per MAC), of which ``weight_flops`` are its weights' (a bias
    gradient: not computed for a frozen layer), ``fixed_flops`` those spent once per step;
    ``forward_flops`` what its forward pass computes in training beyond its inference FLOPs (a batch
    norm's batch statistics). ``keeps`` names the tensors its gradient reads (``input``, ``output``),
    ``kept`` counts the elements of tensors inside the op it keeps, ``kept_bytes`` the bytes it keeps whatever
    the dtype (a dropout's mask, a bool per element), ``kept_fixed`` the values it keeps
    once per step (a batch norm's statistics). ``upcast``: the op computes in float32 whatever the
    dtype (Keras's batch norm casts a 16-bit input up), so what it keeps of its input is then a float32
    copy, not the input tensor. ``every_input``: the rule counts every input's gradient (a product's), so a
    layer whose inputs' gradients are only partly wanted is left uncounted. (A record tuple, like
    :class:`~archviz.ops.base.Op`: made at import for nothing but its fields.)
    """

    weight_macs: int = 0
    input_macs: int = 0
    flops: int = 0
    weight_flops: int = 0
    fixed_flops: int = 0
    forward_flops: int = 0
    keeps: frozenset[str] = frozenset()
    kept: int = 0
    kept_bytes: int = 0
    kept_fixed: int = 0
    upcast: bool = False
    every_input: bool = False  # counted for every input's gradient: a layer wanting only some is not counted


NO_BACKWARD = Backward()
INPUT = frozenset({"input"})
OUTPUT = frozenset({"output"})

#: (attrs, input shapes, output shape, whether the input's gradient is wanted, whether the layer's weights
#: train) -> its backward pass
BackwardRule = Callable[[Attrs, Sequence[Shape], Shape, bool, bool], Backward]


def free_backward(attrs: Attrs, shapes: Sequence[Shape], out: Shape, input_grad: bool, weights_grad: bool) -> Backward:
    """The backward of an op that only moves values (a pad's gradient is a slice, a reshape's a reshape):
    no arithmetic, nothing kept."""
    return NO_BACKWARD


#: The backward of an activation, as TensorFlow's gradient computes it: (FLOPs per output element, the
#: tensors it reads, the elements per output element of the tensors inside it that it reads). ReLU and
#: ReLU6 1 comparison on their output (``ReluGrad``, ``Relu6Grad``); softmax (grad - sum(grad x y)) x y,
#: 4 on its output; sigmoid 3 (``SigmoidGrad``: dy x y x (1 - y)) and tanh 3 (``TanhGrad``) on their
#: output; elu 3 (``EluGrad``) and selu 4 (``SeluGrad``) on their output; leaky ReLU 2 (``LeakyReluGrad``)
#: on its input; softplus 1 (its input's sigmoid, counted 0 as in the forward, times the gradient) on its
#: input; swish 7 (its custom gradient recomputes the sigmoid of its input: 5 products, a difference and a
#: sum); hard_sigmoid, relu6(x + 3) / 6, 2 (a quotient and ``Relu6Grad`` on its inner relu6); hard_silu,
#: x x hard_sigmoid(x), 5 (2 products, those 2 and the sum of x's two gradients) on its input, its
#: hard_sigmoid and its inner relu6; exact gelu, x / 2 x erfc(-x / sqrt 2), 10 (6 products, 2 negations,
#: a square and the sum of x's two gradients; the exponential counted 0) on 3 tensors inside it.
#: The others (mish, softsign, exponential, log_softmax, the tanh approximation of gelu) have no training
#: rule yet.
BACKWARD_ACTIVATIONS: dict[str, tuple[int, frozenset[str], int]] = {
    "linear": (0, frozenset(), 0),
    "relu": (1, OUTPUT, 0),
    "relu6": (1, OUTPUT, 0),
    "softmax": (4, OUTPUT, 0),
    "sigmoid": (3, OUTPUT, 0),
    "tanh": (3, OUTPUT, 0),
    "elu": (3, OUTPUT, 0),
    "selu": (4, OUTPUT, 0),
    "leaky_relu": (2, INPUT, 0),
    "softplus": (1, INPUT, 0),
    "swish": (7, INPUT, 0),
    "hard_sigmoid": (2, frozenset(), 1),
    "hard_silu": (5, INPUT, 2),
    "gelu": (10, frozenset(), 3),
}


def activation_backward(name: str | None, elements: int) -> tuple[int, frozenset[str], int]:
    """(backward FLOPs over ``elements``, the tensors kept, the elements kept inside it) of an activation; an
    error where it has no rule."""
    name = name or "linear"
    if name not in BACKWARD_ACTIVATIONS:
        raise UnsupportedOpError(f"activation {name!r} has no training rule")
    flops, keeps, inside = BACKWARD_ACTIVATIONS[name]
    return flops * elements, keeps, inside * elements
