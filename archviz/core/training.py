"""What a training step costs: its MACs and FLOPs, its memory by part, and the largest batch that fits.

One walk over the analysed layers applies each op's backward rule (:class:`~archviz.ops.backward.Backward`,
next to its forward rule in the op table). A tensor's gradient is wanted where a trainable layer lies
upstream of it (TensorFlow prunes the others: in a ResNet, the stem conv's input gradient); a layer
computes its input's gradient only where that is wanted, its weights' wherever it has trainable ones.
A tensor read by k layers whose gradients flow into it has its k gradients summed (``AddN``):
k - 1 per element. The conventions (:mod:`archviz.conventions`) say what each part counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archviz.core.analysis import DType
from archviz.core.optimizer import Optimizer
from archviz.core.summary import Summary
from archviz.errors import UnsupportedOpError, UsageError
from archviz.limits import MAX_BATCH, short
from archviz.ops import OPS, numel
from archviz.units import check_size, human_bytes

#: Bytes of a batch norm's kept statistic and of an upcast copy: float32 whatever the policy.
FLOAT32_BYTES = 4

#: The dtypes a training step is counted in (an integer dtype does not train).
TRAINING_DTYPES = (DType.FLOAT32, DType.MIXED_FLOAT16, DType.BFLOAT16, DType.FLOAT16, DType.FLOAT64)


def check_training_dtype(dtype: str) -> None:
    """Refuse a dtype no training step is counted in (``int8``), in one line naming the parameter."""
    if dtype not in TRAINING_DTYPES:
        raise UsageError(
            f"dtype (--dtype) {short(dtype)} cannot train: a training step is counted in {', '.join(TRAINING_DTYPES)}"
        )


@dataclass(frozen=True)
class Training:
    """What to count a training step for: the optimizer, and a memory budget (bytes, or a size such as
    ``"24GiB"``) to find the largest batch in. The batch size and the dtype are the analysis's."""

    optimizer: str = Optimizer.ADAM.value
    max_memory: int | str | None = None

    def __post_init__(self) -> None:
        if self.optimizer not in tuple(Optimizer):
            raise UsageError(
                f"optimizer (--optimizer) must be one of {', '.join(Optimizer)}; got {short(self.optimizer)}"
            )
        if self.max_memory is not None:
            object.__setattr__(self, "max_memory", check_size(self.max_memory, "max_memory (--max-memory)"))


@dataclass(frozen=True)
class Memory:
    """A training step's memory by part, in bytes."""

    weights: int
    gradients: int
    optimizer: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations

    def to_dict(self) -> dict[str, int]:
        return {
            "weights": self.weights,
            "gradients": self.gradients,
            "optimizer": self.optimizer,
            "activations": self.activations,
            "total": self.total,
        }

    def parts(self) -> str:
        """``97.7 MiB weights, 97.5 MiB gradients, ...``"""
        return ", ".join(f"{human_bytes(getattr(self, part))} {part}" for part in self.to_dict() if part != "total")


@dataclass(frozen=True)
class TrainingCost:
    """A training step of a summary's model at its batch size and dtype."""

    optimizer: str
    batch_size: int
    dtype: str
    macs: int
    flops: int
    memory: Memory
    gradient_flops: int  # of ``flops``: the backward's besides 2 per MAC
    kept_per_sample: int  # activation bytes per sample
    kept_fixed: int  # activation bytes once per step
    max_memory: int | None = None
    max_batch: int | None = None
    uncounted: tuple[str, ...] = ()  # layers the forward could not count, or on a gradient path with no training rule

    @property
    def complete(self) -> bool:
        return not self.uncounted

    def condition(self) -> str:
        return f"batch {self.batch_size}, {self.optimizer}, {self.dtype}"

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "optimizer": self.optimizer,
            "batch_size": self.batch_size,
            "dtype": self.dtype,
            "macs": self.macs,
            "flops": self.flops,
            "memory": self.memory.to_dict(),
            "complete": self.complete,
        }
        if self.uncounted:
            record["uncounted"] = list(self.uncounted)
        if self.max_memory is not None:
            record["max_memory"] = self.max_memory
            record["max_batch"] = self.max_batch
        return record


@dataclass(frozen=True)
class _Step:
    """One sample's backward, summed over the layers."""

    macs: int  # per sample: the gradients'
    gradients: int  # per sample: the gradients' FLOPs besides their MACs
    forward: int  # per sample: the forward's in training beyond its inference FLOPs
    fixed_flops: int
    kept: int  # elements per sample, in the compute dtype
    kept_bytes: int  # bytes per sample whatever the dtype (an upcast op's float32 copies, dropout masks)
    kept_fixed: int  # float32 values per step
    uncounted: tuple[str, ...]
    kept_tensors: frozenset[str]  # the layers whose outputs are kept


def _walk(summary: Summary, *, inputs_wanted: bool = False) -> _Step:
    """Apply every layer's backward rule; ``inputs_wanted``: the graph's inputs' gradients are wanted (a part
    of a network with trainable layers before it)."""
    shapes = {record.name: record.output_shape for record in summary.records}
    wanted: dict[str, bool] = {}  # whether a tensor's gradient is computed
    readers: Counter[str] = Counter()  # how many gradients flow into each tensor
    kept_tensors: set[str] = set()
    half = DType(summary.dtype).compute_bytes < FLOAT32_BYTES
    macs = flops = forward = fixed = kept = kept_bytes = kept_fixed = 0
    uncounted: list[str] = []
    for record in summary.records:
        if record.op == "input":
            wanted[record.name] = inputs_wanted
            continue
        input_grad = any(wanted.get(source, False) for source in record.inputs)
        trainable = record.trainable_params > 0
        wanted[record.name] = trainable or input_grad
        if not wanted[record.name]:
            continue
        op = OPS.get(record.op)
        try:
            if op is None or op.backward is None or not record.counted:
                raise UnsupportedOpError(record.op)
            in_shapes = [shapes[s] for s in record.inputs]
            rule = op.backward(record.attrs, in_shapes, record.output_shape, input_grad, trainable)
            if rule.every_input and not all(wanted.get(source, False) for source in record.inputs):
                raise UnsupportedOpError(record.op)  # counted for every input's gradient: only some are wanted
        except UnsupportedOpError:
            uncounted.append(record.name)
            continue
        macs += (rule.weight_macs if trainable else 0) + rule.input_macs
        flops += rule.flops - (0 if trainable else rule.weight_flops)
        forward += rule.forward_flops
        fixed += rule.fixed_flops
        if "input" in rule.keeps and rule.upcast and half:
            kept_bytes += FLOAT32_BYTES * sum(numel(shapes[source]) for source in record.inputs)
        elif "input" in rule.keeps:
            kept_tensors.update(record.inputs)
        if "output" in rule.keeps:
            kept_tensors.add(record.name)
        kept += rule.kept
        kept_bytes += rule.kept_bytes
        kept_fixed += rule.kept_fixed
        if input_grad:
            readers.update(source for source in record.inputs if wanted.get(source, False))
    flops += sum((count - 1) * numel(shapes[name]) for name, count in readers.items())
    kept += sum(numel(shapes[name]) for name in kept_tensors)
    return _Step(macs, flops, forward, fixed, kept, kept_bytes, kept_fixed, tuple(uncounted), frozenset(kept_tensors))


@dataclass(frozen=True)
class Kept:
    """What a part of a network (a stem, a block, a head: ``fit`` sums them) keeps for the backward, per
    sample: the elements of the tensors it makes (in the compute dtype) and the bytes it keeps whatever the
    dtype, whether it keeps its input and its output tensor (shared with the parts before and after it), and
    the float32 values kept once per step."""

    elements: int
    bytes: int
    keeps_input: bool
    keeps_output: bool
    fixed: int


def kept(summary: Summary, *, inputs_wanted: bool) -> Kept:
    """The activations ``summary``'s graph keeps, its input tensors apart (see :class:`Kept`)."""
    step = _walk(summary, inputs_wanted=inputs_wanted)
    shapes = {record.name: record.output_shape for record in summary.records}
    inputs = {record.name for record in summary.records if record.op == "input"}
    held = sum(numel(shapes[name]) for name in step.kept_tensors & inputs)
    return Kept(
        elements=step.kept - held,
        bytes=step.kept_bytes,
        keeps_input=bool(step.kept_tensors & inputs),
        keeps_output=summary.records[-1].name in step.kept_tensors,
        fixed=step.kept_fixed,
    )


def memory(
    params: int,
    trainable: int,
    kept_per_sample: int,
    kept_bytes_per_sample: int,
    kept_fixed: int,
    *,
    optimizer: str,
    dtype: str,
    batch: int,
) -> Memory:
    """A training step's memory from the counts it depends on: per sample, elements in the compute dtype
    and bytes whatever the dtype; float32 values once per step."""
    kind = DType(dtype)
    return Memory(
        weights=params * kind.variable_bytes,
        gradients=trainable * kind.variable_bytes,
        optimizer=Optimizer(optimizer).slots * trainable * kind.variable_bytes,  # slots are made like the weights
        activations=batch * (kept_per_sample * kind.compute_bytes + kept_bytes_per_sample) + kept_fixed * FLOAT32_BYTES,
    )


def training_cost(summary: Summary, training: Training) -> TrainingCost:
    """The training step of ``summary``'s model with ``training``'s optimizer, at the summary's batch size and
    dtype; with a memory budget, the largest batch whose step fits in it."""
    check_training_dtype(summary.dtype)
    step = _walk(summary)
    batch = summary.batch_size

    def at(batch: int) -> Memory:
        return memory(
            summary.params,
            summary.trainable_params,
            step.kept,
            step.kept_bytes,
            step.kept_fixed,
            optimizer=training.optimizer,
            dtype=summary.dtype,
            batch=batch,
        )

    cost = TrainingCost(
        optimizer=training.optimizer,
        batch_size=batch,
        dtype=summary.dtype,
        macs=summary.macs + batch * step.macs,
        flops=summary.flops + batch * (step.forward + 2 * step.macs + step.gradients) + step.fixed_flops,
        gradient_flops=batch * step.gradients + step.fixed_flops,
        memory=at(batch),
        kept_per_sample=step.kept * DType(summary.dtype).compute_bytes + step.kept_bytes,
        kept_fixed=step.kept_fixed * FLOAT32_BYTES,
        uncounted=_uncounted(summary, step),
    )
    if training.max_memory is None:
        return cost
    budget = int(training.max_memory)
    fits = max_batch(at, budget, f"{summary.name} needs {{need}} to train with {training.optimizer} in {summary.dtype}")
    return TrainingCost(**{**cost.__dict__, "max_memory": budget, "max_batch": fits})


def _uncounted(summary: Summary, step: _Step) -> tuple[str, ...]:
    """The layers a training step leaves out, in graph order: those the forward pass could not count (their
    MACs, FLOPs and kept tensors are missing from the step too) and those on a gradient path with no
    training rule."""
    left_out = set(step.uncounted)
    return tuple(record.name for record in summary.records if not record.counted or record.name in left_out)


def max_batch(at: Callable[[int], Memory], budget: int, needs: str) -> int:
    """The largest batch (at most :data:`~archviz.limits.MAX_BATCH`) whose step's memory (``at(batch)``) fits
    in ``budget``: solved from the linear growth of the activations, then checked by recomputing the total
    at that batch and the next. A budget too small for batch 1 is an error, ``needs`` saying what needs it
    (``{need}``: the bytes, with their parts)."""
    one = at(1)
    if one.total > budget:
        need = f"{human_bytes(one.total)} ({one.parts()})"
        raise UsageError(
            f"max_memory (--max-memory) {human_bytes(budget)} is too small for batch 1: {needs.format(need=need)}"
        )
    per_sample = one.activations - at(0).activations
    batch = MAX_BATCH if per_sample == 0 else min(MAX_BATCH, max(1, (budget - at(0).total) // per_sample))
    while batch > 1 and at(batch).total > budget:
        batch -= 1
    while batch < MAX_BATCH and at(batch + 1).total <= budget:
        batch += 1
    return batch
