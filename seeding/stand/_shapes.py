"""How a bank row becomes a response body, worked out once per row type and shared by both servers.

A row's fields are its contract model's (``row.model``). Each server says which key a field goes
under (the field name for protobuf, the camelCase alias for JSON), how a value of each type is
written (``converter(hint)``, from the row's type hints), and what to build from the result; a
field holding rows (an account's cards) takes their shape from the server's ``nested`` table.
A call then only reads the row's attributes (``operator.attrgetter``) and converts the few that
need it: per-call dispatch on each value's type cost more than the rest of a call (issue 12).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, get_args, get_origin, get_type_hints

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["Converter", "Shape"]

T = TypeVar("T")
Converter = Callable[[Any], Any]


class _Row(Protocol):
    """A bank row class: it names the contract model whose fields it holds."""

    model: ClassVar[type[BaseModel]]


class Shape(Generic[T]):
    """``shape(row)``: ``build({key: value})`` for a row of ``row_type``."""

    def __init__(
        self,
        row_type: type[_Row],
        *,
        key: Callable[[str, Any], str],
        converter: Callable[[Any], Converter | None],
        build: Callable[[dict[str, Any]], T],
        nested: Mapping[type, Shape[T]],
    ) -> None:
        fields = row_type.model.model_fields
        names = tuple(fields)
        self._keys = tuple(key(name, fields[name]) for name in names)
        self._values = operator.attrgetter(*names)  # several names: a tuple
        hints = get_type_hints(row_type, localns={})  # not the class's own names: its slot `type` shadows the builtin
        self._converters = [
            (i, convert)
            for i, name in enumerate(names)
            if (convert := _rows(hints[name], nested) or converter(hints[name])) is not None
        ]
        self._build = build

    def __call__(self, row: Any) -> T:
        values = list(self._values(row))
        for i, convert in self._converters:
            values[i] = convert(values[i])
        return self._build(dict(zip(self._keys, values, strict=True)))


def _rows(hint: Any, nested: Mapping[type, Shape[T]]) -> Converter | None:
    """A list of rows, each in its own shape (which must be worked out before the outer row's)."""
    if get_origin(hint) is not list or get_args(hint)[0] not in nested:
        return None
    shape = nested[get_args(hint)[0]]
    return lambda rows: [shape(row) for row in rows]
