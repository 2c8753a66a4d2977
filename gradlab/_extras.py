"""gradlab's optional extras: what each provides, and how to install one for the way gradlab was installed.

A message about a missing extra must work for the user who reads it: ``pip install -e '.[torch]'``
only works inside a source checkout, ``pip install 'gradlab[torch]'`` only where pip can find
gradlab.  :func:`install_hint` reads how this gradlab was installed (the ``direct_url.json`` pip
records, PEP 610) and names the command for it first: an editable checkout gets ``pip install -e
'<checkout>[extra]'``, a wheel installed from a file that file with ``[extra]``, an installed
package (or one it cannot tell) ``pip install 'gradlab[extra]'``.  Every message also names the
other forms in parentheses (the wheel form ``pip install 'gradlab[extra]'``, and ``pip install -e
'.[extra]'`` for a source checkout), the same way for every extra, so it works for whoever reads it.
"""
from __future__ import annotations

import functools
import importlib
import json
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = ["EXTRAS", "install_hint", "missing_extra", "require"]

#: Extra -> (the module it provides that gradlab imports, the package pip installs for it).
EXTRAS: dict[str, tuple[str, str]] = {
    "sweep": ("distributed", "dask[distributed]"),
    "parquet": ("pyarrow", "pyarrow"),
    "explore": ("marimo", "marimo"),
    "torch": ("torch", "torch"),
}


def _file_path(url: str) -> Path | None:
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


@functools.lru_cache(maxsize=1)
def _installed() -> tuple[str, str | None]:
    """('editable', checkout) | ('file', wheel or sdist path) | ('index', None) | ('unknown', None)."""
    from importlib import metadata

    here = Path(__file__).resolve().parent  # the gradlab package actually imported
    try:
        dist = metadata.distribution("gradlab")
    except metadata.PackageNotFoundError:
        return "unknown", None
    try:
        info = json.loads(dist.read_text("direct_url.json") or "null") or {}
    except (OSError, ValueError):
        info = {}
    url = info.get("url", "")
    if info.get("dir_info", {}).get("editable"):
        root = _file_path(url)
        if root is not None and (root / "gradlab").resolve() == here:
            return "editable", str(root)
        return "unknown", None  # pip knows another checkout than the one imported
    if Path(dist.locate_file("gradlab")).resolve() != here:
        return "unknown", None
    archive = _file_path(url) if "archive_info" in info else None
    if archive is not None:
        return "file", str(archive)
    return "index", None


def install_hint(extra: str) -> str:
    """The pip command that adds gradlab's optional ``extra``: the one for this installation first (see the
    module docstring), then, so the message works wherever it is read, the wheel form ``pip install
    'gradlab[extra]'`` and, where that is not the first, the form for a source checkout."""
    if extra not in EXTRAS:
        raise ValueError(f"extra must be one of {', '.join(EXTRAS)}, got {extra!r}")
    wheel = f"pip install 'gradlab[{extra}]'"
    how, where = _installed()
    if how == "editable":
        return f"pip install -e '{where}[{extra}]' (this source checkout; from a wheel or an index: {wheel})"
    if how == "file":
        return (f"pip install '{where}[{extra}]' (the file gradlab was installed from; from an index: {wheel}; "
                f"from a source checkout: pip install -e '.[{extra}]')")
    return f"{wheel} (from a source checkout: pip install -e '.[{extra}]')"


def missing_extra(what: str, extra: str, provides: str | None = None) -> str:
    """'<what> needs <package> (the <extra> extra), which is not installed: <install command>'."""
    package = EXTRAS[extra][1] if provides is None else provides
    return f"{what} needs {package} (gradlab's {extra} extra), which is not installed: {install_hint(extra)}"


def require(extra: str, what: str, provides: str | None = None) -> None:
    """Import the module of ``extra`` or raise ImportError(:func:`missing_extra`), before any work starts."""
    module = EXTRAS[extra][0]
    try:
        importlib.import_module(module)
    except ImportError:
        raise ImportError(missing_extra(what, extra, provides)) from None
