"""The tensors an ONNX file holds (its initializers, its Constants' values) and what nodes compute from them
alone, evaluated once: their dims, their values where small, and the initializers whose elements are
their params (an initializer reached through ``Identity``, ``Cast`` or ``DequantizeLinear`` is still
counted, once, at the first layer that reads it)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archviz.core.graph import Shape
from archviz.sources.onnx.protos import FLOAT_TYPES, MAX_VALUE_ELEMENTS, check_dims

#: Ops whose output is a function of their input's shape alone: shape arithmetic, evaluated once.
SHAPE_OF = ("Shape", "Size")
#: Ops that carry a constant's values over to their output: a weight stored as float16 and cast, or
#: quantized, is still the initializer's params (DequantizeLinear's input 0 whatever its type).
PASS_THROUGH = ("Identity", "Cast", "CastLike", "DequantizeLinear")


@dataclass(frozen=True)
class Held:
    """A tensor the file holds or computes without an input: its dims, the initializer it is (None: a
    Constant's value or a computed one) and its proto (where its values are in the file)."""

    dims: Shape | None
    initializer: str | None = None
    tensor: Any = None
    origins: tuple[str, ...] = ()  # the initializers whose elements are its params (a Cast of one, its own)


class Constants:
    """The held tensors of a graph, by name, and which layer counted each initializer's params."""

    def __init__(self, path: Path, initializers: Iterable[Any], shapes: dict[str, Shape | None]) -> None:
        self.path, self.shapes = path, shapes
        self.initializers = {tensor.name: tensor for tensor in initializers}
        for tensor in self.initializers.values():
            check_dims(path, "initializer", tensor.name, tensor)
        self.held: dict[str, Held] = {
            name: Held(tuple(tensor.dims), name, tensor, self.floats(tensor))
            for name, tensor in self.initializers.items()
        }
        self.counted: dict[str, str] = {}  # initializer -> the layer that counted its params

    @staticmethod
    def floats(tensor: Any) -> tuple[str, ...]:
        return (tensor.name,) if tensor.data_type in FLOAT_TYPES else ()

    def hold(self, node: Any, tensor: Any) -> None:
        """A node evaluated once: its outputs are held tensors (an Identity of an initializer is that initializer).
        What it computes from initializers keeps them as its origins (a weight cast from float16, dequantized
        or reshaped is still the initializer's params, counted once), except shape arithmetic."""
        source = self.held.get(node.input[0]) if node.op_type == "Identity" and node.input else None
        origins: tuple[str, ...] = ()
        if node.op_type == "DequantizeLinear" and node.input and node.input[0] in self.initializers:
            origins = (node.input[0],)
        elif node.op_type not in SHAPE_OF and tensor is None:
            found = {o: None for name in node.input if name in self.held for o in self.held[name].origins}
            origins = tuple(found)
        for output in node.output:
            if source is not None:
                self.held[output] = source
            elif tensor is not None:
                self.held[output] = Held(tuple(tensor.dims), None, tensor)
            else:
                dims = self.shapes.get(output)
                if node.op_type in PASS_THROUGH and node.input and node.input[0] in self.held:
                    dims = self.held[node.input[0]].dims or dims
                self.held[output] = Held(dims, None, None, origins)

    def params(self, tensors: list[str], layer: str = "") -> tuple[int, str | None]:
        """The elements of the floating-point initializers among ``tensors`` not counted yet (counted now, by
        ``layer``), and the layer that counted one of them before (None: it shares none)."""
        total, shares = 0, None
        for tensor in tensors:
            for origin in self.held[tensor].origins:
                if origin in self.counted:
                    shares = shares or self.counted[origin]
                    continue
                self.counted[origin] = layer
                total += math.prod(self.initializers[origin].dims)
        return total, shares

    def shape_of(self, tensor: str) -> Shape | None:
        if not tensor:
            return None
        held = self.held.get(tensor)
        if held is not None and held.dims is not None:
            return held.dims
        return self.shapes.get(tensor)

    def value_of(self, tensor: str) -> Any:
        """The values of a small held tensor whose data is in the file (a list, or a number); else None."""
        held = self.held.get(tensor) if tensor else None
        if held is None or held.tensor is None or held.tensor.data_location == 1:
            return None
        if math.prod(held.tensor.dims) > MAX_VALUE_ELEMENTS:
            return None
        from onnx import numpy_helper

        try:
            return numpy_helper.to_array(held.tensor).tolist()
        except (ValueError, TypeError, RuntimeError, KeyError, IndexError, AttributeError):
            return None  # a data type the onnx package does not know (99), values that do not fit their dims
