"""Records that behave as dataclasses do, for a fraction of their cost at import.

A ``@dataclass`` compiles the source of its ``__init__``, ``__repr__``, ``__eq__`` (and, frozen, its
``__setattr__``, ``__delattr__`` and ``__hash__``) when its module is imported: about a millisecond
each, which is most of what importing the summary cost a zoo ``summary``. A :class:`DataRecord`
subclass declares its fields the same way (annotations, with defaults; a ``list`` or ``dict``
default is a fresh one per record) and gets the same constructor (positional or keyword), ``repr``, equality,
``replace`` and, with ``frozen=True``, the same immutability and hash, from methods written once here.

>>> class Point(DataRecord, frozen=True):
...     x: int
...     y: int = 0
>>> Point(x=1)
Point(x=1, y=0)
>>> Point(x=1).replace(y=2) == Point(x=1, y=2)
True
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any, ClassVar

_MISSING: Any = object()


class DataRecord:
    """The base of a record: its fields are its annotations (its bases' first), in order."""

    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}
    _frozen: ClassVar[bool] = False

    def __init_subclass__(cls, *, frozen: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = [name for name, kind in cls.__dict__.get("__annotations__", {}).items() if "ClassVar" not in kind]
        cls._fields = (*cls._fields, *(name for name in own if name not in cls._fields))
        cls._defaults = {**cls._defaults, **{name: cls.__dict__[name] for name in own if name in cls.__dict__}}
        for name in own:  # the defaults live in _defaults; the class attribute would hide a missing field
            if name in cls.__dict__:
                delattr(cls, name)
        cls._frozen = frozen or cls._frozen
        if cls._frozen:
            methods: dict[str, Any] = {
                "__hash__": DataRecord._hash,
                "__setattr__": _refuse_set,
                "__delattr__": _refuse_delete,
            }
        else:
            methods = {"__hash__": None}  # as a dataclass with eq and not frozen: unhashable
        for name, method in methods.items():
            setattr(cls, name, method)

    def __init__(self, *args: Any, **values: Any) -> None:
        if args:  # positional, in the fields' order
            if len(args) > len(self._fields):
                raise TypeError(f"{type(self).__name__}() takes {len(self._fields)} arguments, {len(args)} given")
            twice = set(values).intersection(self._fields[: len(args)])
            if twice:
                raise TypeError(f"{type(self).__name__}() got multiple values for argument {sorted(twice)[0]!r}")
            values = dict(zip(self._fields, args)) | values
        unknown = set(values) - set(self._fields)
        if unknown:
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {sorted(unknown)[0]!r}")
        state = self.__dict__  # (not setattr: a frozen record refuses it)
        for name in self._fields:
            value = values.get(name, _MISSING)
            if value is _MISSING:
                value = self._defaults.get(name, _MISSING)
                if value is _MISSING:
                    raise TypeError(f"{type(self).__name__}() missing required keyword argument: {name!r}")
                if isinstance(value, (list, dict)):
                    value = type(value)(value)
            state[name] = value

    @classmethod
    def made(cls, values: dict[str, Any]) -> Any:
        """A record from the values of all its fields, unchecked: what the analysis makes once per layer."""
        record = object.__new__(cls)
        record.__dict__.update(values)
        return record

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def replace(self, **changes: Any) -> Any:
        """A copy with some fields changed (as :func:`dataclasses.replace`)."""
        return type(self)(**{name: getattr(self, name) for name in self._fields} | changes)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({fields})"

    def __eq__(self, other: Any) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def _hash(self) -> int:
        return hash(self._values())


def _refuse_set(self: DataRecord, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_delete(self: DataRecord, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")
