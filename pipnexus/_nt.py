"""``NamedTuple`` for the modules on the action's hot path, without importing ``typing``.

``typing`` takes longer to import than the rest of the action's start-up budget allows (see
bench/configure_bench.py), and those modules need it only for ``class X(NamedTuple)``. Type
checkers see ``typing.NamedTuple`` itself; at run time the same class syntax builds the class
the way ``typing.NamedTuple`` does (CPython's Lib/typing.py, ``NamedTupleMeta``): a
``collections.namedtuple`` of the annotated fields, with their defaults, and the other names of
the class body (methods, properties, the docstring) set on it. Use it only for plain records:
no generic NamedTuples, no ``super()`` in their methods (neither works with typing's either on
Python 3.9-3.11).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    from collections import namedtuple

    _SPECIAL = frozenset({"__module__", "__name__", "__annotations__", "__qualname__"})

    class _NamedTupleMeta(type):
        def __new__(mcs, name, bases, ns):
            if not bases:  # NamedTuple itself
                return super().__new__(mcs, name, bases, ns)
            if bases != (NamedTuple,):
                raise TypeError("can only inherit from NamedTuple alone")
            annotations = dict(ns.get("__annotations__", {}))
            fields = list(annotations)
            defaults = []
            for field in fields:
                if field in ns:
                    defaults.append(ns[field])
                elif defaults:
                    raise TypeError(f"non-default namedtuple field {field} cannot follow "
                                    "default field(s)")
            cls = namedtuple(name, fields, defaults=defaults, module=ns["__module__"])
            cls.__annotations__ = annotations
            cls.__qualname__ = ns.get("__qualname__", name)
            for key, value in ns.items():
                if key in ("_make", "_asdict", "_replace", "_fields", "_field_defaults",
                           "__new__", "__init__", "__slots__", "__getnewargs__"):
                    raise AttributeError(f"cannot overwrite NamedTuple attribute {key}")
                if key not in _SPECIAL and key not in annotations:
                    setattr(cls, key, value)
            return cls

    class NamedTuple(metaclass=_NamedTupleMeta):
        """Base of a typed record: ``class Point(NamedTuple): x: int; y: int = 0``."""
