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
    ``kept`` counts the elements of tensors inside the op it keeps, ``kept_fixed`` the values it keeps
    once per step (a batch norm's statistics). ``upcast``: the op computes in float32 whatever the
    dtype (Keras's batch norm casts a 16-bit input up), so what it keeps of its input is then a float32
    copy, not the input tensor. (A NamedTuple, like :class:`~archviz.ops.base.Op`: made at import for
    nothing but its fields.)
    """

    weight_macs: int = 0
    input_macs: int = 0
    flops: int = 0
    weight_flops: int = 0
    fixed_flops: int = 0
    forward_flops: int = 0
    keeps: frozenset[str] = frozenset()
    kept: int = 0
    kept_fixed: int = 0
    upcast: bool = False


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


#: The backward of an activation (per output element, as TensorFlow's gradient computes it) and the
#: tensor it reads: ReLU and ReLU6 one comparison per element on their output (``ReluGrad``,
#: ``Relu6Grad``); softmax (grad - sum(grad x y)) x y, 4 per element on its output; the rest have no
#: training rule yet.
BACKWARD_ACTIVATIONS: dict[str, tuple[int, frozenset[str]]] = {
    "linear": (0, frozenset()),
    "relu": (1, OUTPUT),
    "relu6": (1, OUTPUT),
    "softmax": (4, OUTPUT),
}


def activation_backward(name: str | None, elements: int) -> tuple[int, frozenset[str]]:
    """(backward FLOPs over ``elements``, the tensors kept) of an activation; an error where it has no rule."""
    name = name or "linear"
    if name not in BACKWARD_ACTIVATIONS:
        raise UnsupportedOpError(f"activation {name!r} has no training rule")
    flops, keeps = BACKWARD_ACTIVATIONS[name]
    return flops * elements, keeps
