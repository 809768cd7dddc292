"""Checked access to the entries of a Keras model config, as Keras 3 and Keras 2 (tf.keras) write them.

A config is JSON from a file, so nothing in it is trusted: each value is checked for its type
before it is used, and anything that is not what Keras writes is one line,
:class:`~archviz.errors.RuntimeFailure` (``not a Keras model config: ...``). A class archviz has no
op for is :class:`NotReadable`, which Keras itself may still load.

The formats, for one layer of a functional model::

    Keras 3  {"module": "keras.layers", "class_name": "Conv2D", "config": {...}, "name": "conv",
              "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 8, 8, 4],
                                 "keras_history": ["inp", 0, 0]}}], "kwargs": {}}]}
    Keras 2  {"class_name": "Conv2D", "config": {...}, "name": "conv", "inbound_nodes": [[["inp", 0, 0, {}]]]}

A raw ``keras.ops`` call has a module ``keras.src.ops.<family>``; its constants are inline
(``[tensor, 2.0]``). A custom class has a module outside Keras, or a ``registered_name``
(``package>Name``). A ``Sequential`` model's config is ``{"layers": [...]}`` (a bare list in Keras
2.1), its input an ``InputLayer`` or its first layer's ``batch_input_shape``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archviz.core.graph import Shape
from archviz.errors import RuntimeFailure
from archviz.limits import MAX_DIMENSION, MAX_RANK
from archviz.ops import KERAS_CLASSES
from archviz.ops.base import RAW_OPS
from archviz.sources.keras.tf_ops import CONSTANT, TF_OP_CLASSES, first_argument, is_node_data

#: Model classes whose layers are walked: ``keras.Model(inputs, outputs)`` is saved as Functional (Model in Keras 2).
CONTAINERS = ("Functional", "Model", "Sequential")
#: The packages whose classes a config names as Keras's own: Keras 3, and tf-keras (Keras 2) in its ``.keras`` files.
KERAS_PACKAGES = ("keras", "tf_keras")
#: How deeply models may nest in models.
MAX_NESTING = 32

Reference = tuple[str, int, int]  # (layer, call, output)


class NotReadable(RuntimeFailure):
    """A file the config reader cannot take alone, though Keras can load it; ``reason`` says why."""

    def __init__(self, path: Path, reason: str, *, keras_loads: bool = True) -> None:
        hint = (
            "--loader keras (or auto) loads the file with Keras"
            if keras_loads
            else "nor can Keras 3 load it (a file of tf-keras, Keras 2)"
        )
        super().__init__(f"{path}: archviz's config reader cannot read {reason}; {hint}")
        self.reason, self.keras_loads = reason, keras_loads


class Entries:
    """Reads the entries of the config of the model file ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def bad(self, what: str) -> RuntimeFailure:
        return RuntimeFailure(f"{self.path}: not a Keras model config: {what}")

    def get(self, mapping: Any, key: str, kind: type, what: str, default: Any = ...) -> Any:
        """``mapping[key]``, which must be of type ``kind`` (or ``default`` where it is missing)."""
        if not isinstance(mapping, dict):
            raise self.bad(f"{what} is not an object")
        value = mapping.get(key, default)
        if value is ... or not isinstance(value, kind):
            raise self.bad(f"{what} has no {key!r} of the right type")
        return value

    def class_key(self, entry: Any) -> str:
        """How the op table knows an entry's class: ``Conv2D``; a raw op ``numpy.Add``; a class from outside
        Keras ``package>Name`` (its registered name, else its module's), which no op claims."""
        name = self.get(entry, "class_name", str, "a layer")
        registered, module = entry.get("registered_name"), entry.get("module")
        if isinstance(registered, str) and registered != name:
            return registered
        if isinstance(module, str) and module.split(".")[0] not in KERAS_PACKAGES:
            return f"{module}>{name}"
        if isinstance(module, str) and module.startswith(RAW_OPS):
            return f"{module.rsplit('.', 1)[-1]}.{name}"
        return name

    def name_of(self, entry: dict) -> str:
        name = entry.get("name")
        if not isinstance(name, str) and isinstance(entry.get("config"), dict):
            name = entry["config"].get("name")
        if not isinstance(name, str):
            raise self.bad(f"a {entry.get('class_name')} layer has no name")
        return name

    def layers_of(self, entry: dict) -> list[dict]:
        """A model's layer entries, each with a class."""
        config = entry.get("config")
        layers = config if isinstance(config, list) else self.get(config, "layers", list, "a model's config")
        for layer in layers:
            self.class_key(layer)
        return layers

    def check_classes(self, entry: dict, depth: int = 0) -> None:
        """Every layer class of a model and of the models nested in it is one archviz reads."""
        if depth > MAX_NESTING:
            raise self.bad(f"models nested more than {MAX_NESTING} deep")
        for layer in self.layers_of(entry):
            kind = self.class_key(layer)
            if kind in CONTAINERS:
                self.check_classes(layer, depth + 1)
            elif kind != "InputLayer" and kind not in KERAS_CLASSES and kind not in TF_OP_CLASSES:
                raise NotReadable(self.path, f"layer class {kind!r}")

    def has_input(self, entry: dict) -> bool:
        """Whether a Sequential model says its input shape (an input layer, or Keras 2's first layer's)."""
        layers = self.layers_of(entry)
        config = layers[0].get("config") if layers else None
        return bool(layers) and (
            self.class_key(layers[0]) == "InputLayer"
            or isinstance(config, dict)
            and ("batch_input_shape" in config or "batch_shape" in config)
        )

    def input_shape(self, entry: dict, what: str) -> Shape:
        """An input's shape without the batch, an open size as -1."""
        config = entry.get("config")
        dims = config.get("batch_shape", config.get("batch_input_shape")) if isinstance(config, dict) else None
        if (
            not isinstance(dims, list)
            or len(dims) < 2
            or not all(d is None or (type(d) is int and 0 <= d <= MAX_DIMENSION) for d in dims)
        ):
            raise self.bad(f"{what} has no input shape (a list of sizes up to 2**63 - 1)")
        if len(dims) > MAX_RANK:
            raise self.bad(f"{what} has {len(dims):,} dimensions; a tensor has at most {MAX_RANK}")
        return tuple(-1 if d is None else d for d in dims[1:])

    def references(self, value: Any, what: str) -> list[Reference]:
        """A model's ``input_layers`` or ``output_layers``."""
        if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
            value = [value]  # Keras 3 writes a single input or output as one triple
        if not isinstance(value, list) or not value:
            raise self.bad(f"{what} are not a list of [layer, node, tensor]")
        return [self.reference(item, what) for item in value]

    def reference(self, item: Any, what: str) -> Reference:
        if not (
            isinstance(item, list)
            and len(item) in (3, 4)
            and isinstance(item[0], str)
            and all(type(v) is int and v >= 0 for v in item[1:3])
        ):
            raise self.bad(f"{what}: {str(item)[:60]} is not [layer, node, tensor]")
        return item[0], item[1], item[2]

    def arguments(self, call: Any, what: str) -> tuple[list[Reference], list[Any], int]:
        """The tensors a call reads (with the shapes a Keras 3 file records for them, else None), and how
        many plain numbers it passes as operands (``x * 2.0`` passes one)."""
        if isinstance(call, list):  # Keras 2: [[layer, node, tensor, kwargs], ...]; a TF op layer's: see keras_tf_ops
            try:
                leaves = first_argument(call)
            except ValueError as error:
                raise self.bad(f"{what}: {error}") from None
            kwargs = leaves[0][3] if len(leaves[0]) == 4 and isinstance(leaves[0][3], dict) else {}
            refs = [self.reference(item, what) for item in leaves if item[0] != CONSTANT]
            refs += [self.reference(item, what) for item in _keras2_tensors(kwargs)]
            recorded, constants = [None] * len(refs), 0
        else:
            args = self.get(call, "args", list, what)
            tensors = _keras_tensors([args, self.get(call, "kwargs", dict, what, {})])
            refs = [self.reference(self.get(t, "config", dict, what).get("keras_history"), what) for t in tensors]
            recorded = [t["config"].get("shape") for t in tensors]
            constants = sum(1 for a in args if isinstance(a, (int, float)) and not isinstance(a, bool))
        if not refs:
            raise self.bad(f"{what}: a call without an input tensor")
        return refs, recorded, constants


def keras_refuses(path: Path, config: dict) -> bool:
    """Whether Keras 3 cannot load a file that tf-keras (Keras 2) wrote: a ``.keras`` archive of tf-keras
    (a ``tf_keras`` module, an input layer's Keras 2 ``batch_input_shape``), or any file with a TF op
    layer (``TFOpLambda``), a class only tf-keras has. Found without recursion."""
    archive = path.suffix.lower() == ".keras"
    stack: list[Any] = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if (
                item.get("class_name") in TF_OP_CLASSES
                or archive
                and (
                    str(item.get("module")).split(".")[0] == "tf_keras"
                    or item.get("class_name") == "InputLayer"
                    and isinstance(item.get("config"), dict)
                    and "batch_input_shape" in item["config"]
                )
            ):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def is_raw_op(entry: dict) -> bool:
    """A raw ``keras.ops`` call: an operation, not a layer (no weights)."""
    return str(entry.get("module")).startswith(RAW_OPS)


def is_frozen(entry: dict) -> bool:
    """Whether a layer or model is saved frozen (``trainable: false``)."""
    return isinstance(entry.get("config"), dict) and entry["config"].get("trainable") is False


def recorded_shape(value: Any) -> Shape | None:
    """A shape a Keras 3 config records for a tensor (``[null, 8, 8, 4]``), without the batch; None if absent."""
    if isinstance(value, list) and value and all(d is None or type(d) is int for d in value):
        return tuple(-1 if d is None else d for d in value[1:])
    return None


def _keras2_tensors(kwargs: dict) -> list[list]:
    """The tensors a Keras 2 call passes by keyword (``{"y": ["relu", 0, 0]}``), in the order written,
    found without recursion."""
    found, stack = [], list(reversed(kwargs.values()))
    while stack:
        item = stack.pop()
        if is_node_data(item):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(reversed(item.values()))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return found


def _keras_tensors(value: Any) -> list[dict]:
    """The ``__keras_tensor__`` entries of a call's arguments, in Keras's order (``tree.flatten``:
    lists in order, dicts by key), found without recursion."""
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(item[key] for key in sorted(item, reverse=True))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return found
