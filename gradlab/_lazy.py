"""The one lazy-export mechanism (PEP 562): a package's public names are imported on first use."""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], submodules: Iterable[str] = ()
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``exports`` maps a public name to the module defining it.

    Module paths starting with '.' are relative to ``package``. A name is imported once, then kept
    in the package's namespace, so later lookups skip the hook; ``submodules`` are reachable as
    attributes too (``gl.perturbations``).
    """
    namespace = importlib.import_module(package).__dict__
    subs = frozenset(submodules)

    def __getattr__(name: str):
        module = exports.get(name)
        if module is not None:
            value = getattr(importlib.import_module(module, package), name)
            namespace[name] = value
            return value
        if name in subs:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
