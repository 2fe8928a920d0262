"""``NamedTuple`` for the modules on the action's hot path, without importing ``typing``.

``typing`` takes longer to import than the rest of the action's start-up budget allows (see
bench/configure_bench.py), and those modules need it only for ``class X(NamedTuple)``. Type
checkers see ``typing.NamedTuple`` itself; at run time the same class syntax builds the class
the way ``typing.NamedTuple`` does (CPython's Lib/typing.py, ``NamedTupleMeta``): a
``collections.namedtuple`` of the annotated fields, with their defaults, and the other names of
the class body (methods, properties, the docstring) set on it. Use it only for plain records:
no generic NamedTuples, no ``super()`` in their methods (neither works with typing's either on
Python 3.9-3.11).

The class is the one ``collections.namedtuple`` builds (Lib/collections/__init__.py), except for
its ``__new__``: namedtuple compiles one from generated source (``eval``) for every class, most
of its cost on CPython 3.9-3.13; here one function binds the arguments to the fields as that one
would, and raises TypeError where it would.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    from operator import itemgetter

    try:
        from _collections import _tuplegetter  # what namedtuple uses, where it exists
    except ImportError:
        def _tuplegetter(index, doc):
            return property(itemgetter(index), doc=doc)

    def _bind(name, fields, defaults, args, kwargs):
        """The values of ``name(*args, **kwargs)``'s fields, or the TypeError of that call."""
        if len(args) > len(fields):
            raise TypeError(f"{name}() takes {len(fields)} positional arguments but "
                            f"{len(args)} were given")
        for field in fields[:len(args)]:
            if field in kwargs:
                raise TypeError(f"{name}() got multiple values for argument {field!r}")
        values = list(args)
        for field in fields[len(args):]:
            if field in kwargs:
                values.append(kwargs.pop(field))
            elif field in defaults:
                values.append(defaults[field])
            else:
                raise TypeError(f"{name}() missing required argument: {field!r}")
        if kwargs:
            raise TypeError(f"{name}() got an unexpected keyword argument {next(iter(kwargs))!r}")
        return values

    def namedtuple(name, fields, defaults, module):
        """``collections.namedtuple(name, fields, defaults=defaults, module=module)``."""
        fields = tuple(fields)
        count = len(fields)
        field_defaults = dict(zip(fields[count - len(defaults):], defaults)) if defaults else {}
        repr_format = "(" + ", ".join(f"{field}=%r" for field in fields) + ")"

        def __new__(cls, *args, **kwargs):
            if kwargs or len(args) != count:
                args = _bind(name, fields, field_defaults, args, kwargs)
            return tuple.__new__(cls, args)

        def _make(cls, iterable):
            result = tuple.__new__(cls, iterable)
            if len(result) != count:
                raise TypeError(f"Expected {count} arguments, got {len(result)}")
            return result

        def _replace(self, **changes):
            result = self._make(map(changes.pop, fields, self))
            if changes:
                raise ValueError(f"Got unexpected field names: {list(changes)!r}")
            return result

        def __repr__(self):
            return self.__class__.__name__ + repr_format % self

        def _asdict(self):
            return dict(zip(fields, self))

        def __getnewargs__(self):
            return tuple(self)

        namespace = {
            "__doc__": f"{name}({', '.join(fields)})", "__slots__": (), "_fields": fields,
            "_field_defaults": field_defaults, "__match_args__": fields, "__new__": __new__,
            "_make": classmethod(_make), "_replace": _replace, "__repr__": __repr__,
            "_asdict": _asdict, "__getnewargs__": __getnewargs__, "__module__": module,
        }
        for index, field in enumerate(fields):
            namespace[field] = _tuplegetter(index, f"Alias for field number {index}")
        return type(name, (tuple,), namespace)

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
            cls = namedtuple(name, fields, defaults, ns["__module__"])
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
