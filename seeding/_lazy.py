"""A package's public names from one table, each module imported on first use (PEP 562).

A package lists its public names once, by the module that defines them::

    _PUBLIC = LazyNames(__name__, {
        "._exceptions": ("SeedingError",),          # imported at the top of __init__: already there
        ".dumps._files": ("open_dump", "write_dump"),   # imported when first read
    })
    __all__ = _PUBLIC.names
    __getattr__ = _PUBLIC.attribute
    __dir__ = _PUBLIC.dir

so ``python -m seeding --help`` and a locustfile that only opens a dump pay for nothing they do
not use. Type checkers and editors see the same names under ``if TYPE_CHECKING:`` imports, which
``tests/test_lazy_names.py`` holds to the table.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["LazyNames"]


class LazyNames:
    """The public names of package ``package``: ``{module: names}``, modules relative to the package."""

    def __init__(self, package: str, table: Mapping[str, tuple[str, ...]]) -> None:
        self.package = package
        self.modules = {name: module for module, names in table.items() for name in names}
        if len(self.modules) != sum(len(names) for names in table.values()):
            raise ValueError(f"{package}: a public name is listed under two modules")
        self.names = sorted(self.modules)

    def attribute(self, name: str) -> Any:
        """The package's ``__getattr__``: import ``name``'s module, keep the value on the package."""
        module = self.modules.get(name)
        if module is None:
            raise AttributeError(f"module {self.package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, self.package), name)
        setattr(sys.modules[self.package], name, value)  # the next read is a plain attribute
        return value

    def dir(self) -> list[str]:
        """The package's ``__dir__``: what it holds already and every public name."""
        return sorted(set(vars(sys.modules[self.package])) | set(self.names))
