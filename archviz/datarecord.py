"""Records that behave as dataclasses do, for a fraction of their cost at import.

A ``@dataclass`` compiles the source of its ``__init__``, ``__repr__``, ``__eq__`` (and, frozen, its
``__setattr__``, ``__delattr__`` and ``__hash__``) when its module is imported: most of a millisecond
a class, which was most of what importing the summary cost a zoo ``summary``. A :class:`DataRecord`
subclass declares its fields the same way (annotations, with defaults; a ``list`` or ``dict`` default
is a fresh one per record; ``frozen`` and ``kw_only`` as class keywords) and gets the same
constructor, ``repr``, equality, ``replace`` (a method) and, frozen, the same immutability and hash,
from methods written once here; type checkers read it as a dataclass (``dataclass_transform``). The
zoo's configs stay dataclasses: :func:`dataclasses.replace`, ``fields`` and ``asdict`` are their API.

>>> class Point(DataRecord, frozen=True):
...     x: int
...     y: int = 0
>>> Point(x=1)
Point(x=1, y=0)
>>> Point(x=1).replace(y=2) == Point(x=1, y=2)
True
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import FrozenInstanceError
from typing import TYPE_CHECKING, Any, ClassVar, dataclass_transform

_MISSING: Any = object()


@dataclass_transform()  # type checkers read a subclass as the dataclass it behaves as
class DataRecord:
    """The base of a record: its fields are its annotations (its bases' first), in order."""

    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}
    _frozen: ClassVar[bool] = False
    _kw_only: ClassVar[bool] = False

    def __init_subclass__(cls, *, frozen: bool = False, kw_only: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = [name for name, kind in cls.__dict__.get("__annotations__", {}).items() if "ClassVar" not in kind]
        cls._fields = (*cls._fields, *(name for name in own if name not in cls._fields))
        cls._defaults = {**cls._defaults, **{name: cls.__dict__[name] for name in own if name in cls.__dict__}}
        for name in own:  # the defaults live in _defaults; the class attribute would hide a missing field
            if name in cls.__dict__:
                delattr(cls, name)
        cls._frozen = frozen or cls._frozen
        cls._kw_only = kw_only
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
        if args and self._kw_only:
            raise TypeError(f"{type(self).__name__}() takes keyword arguments only")
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


class _TupleMeta(type):
    """What :class:`typing.NamedTuple` does with a class body (the fields are its annotations, their
    defaults the values; its methods and docstring are kept), without checking each annotation as a type:
    under ``from __future__ import annotations`` every one is a string that :mod:`typing` compiles."""

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        if namespace.get("_root", False):
            return super().__new__(mcls, name, bases, namespace)
        annotations = namespace.get("__annotations__", {})
        defaults = [namespace[field] for field in annotations if field in namespace]
        if any(field not in namespace for field in list(annotations)[len(annotations) - len(defaults) :]):
            raise TypeError(f"{name}: a field without a default follows one with a default")
        cls = namedtuple(name, list(annotations), defaults=defaults, module=namespace["__module__"])  # type: ignore[misc]
        cls.__annotations__ = dict(annotations)
        for key, value in namespace.items():
            if key not in annotations and key not in _KEPT_BY_NAMEDTUPLE:
                setattr(cls, key, value)
        return cls


#: The names namedtuple sets itself.
_KEPT_BY_NAMEDTUPLE = frozenset({"__module__", "__qualname__", "__annotations__", "_root"})


if TYPE_CHECKING:
    from typing import NamedTuple as RecordTuple
else:

    class RecordTuple(metaclass=_TupleMeta):
        """The base of an immutable record of a few fields, made by the thousand or declared by the dozen
        at import: a :class:`typing.NamedTuple` (``class Op(RecordTuple)``, type-checked as one) that costs
        a third as much to declare.

        >>> class Pair(RecordTuple):
        ...     left: int
        ...     right: int = 0
        ...     def total(self) -> int:
        ...         return self.left + self.right
        >>> Pair(1), Pair(1, 2).total(), Pair(1)._replace(right=5)
        (Pair(left=1, right=0), 3, Pair(left=1, right=5))
        """

        _root = True
