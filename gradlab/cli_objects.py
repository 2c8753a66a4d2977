"""Objects named on the command line as py:MODULE:NAME or py:FILE.py:NAME (``gradlab audit``, ``gradlab show``;
the command line strips the ``py:`` prefix, without which it imports nothing).

Loading one imports, and so runs, the user's module: it is for the user's own explicit request,
so only the command line does it; the library never imports user files.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

__all__ = ["load_object"]


def load_object(spec: str) -> Any:
    """The object named by 'module:attribute' or 'path/to/file.py:attribute' (dots allowed in the attribute).

    This imports, and so runs, the user's module: it is for the user's own explicit request
    (``gradlab audit ... --derivative my_module:mish_grad``).  The current directory is searched first.
    """
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"expected MODULE:NAME or FILE.py:NAME, e.g. my_module:mish_grad, got {spec!r}")
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            path = os.path.abspath(module_name)
            if not os.path.isfile(path):
                raise ValueError(f"{spec!r}: no such file {module_name!r}")
            mod_id = "_gradlab_user_" + os.path.splitext(os.path.basename(path))[0]
            loader = importlib.util.spec_from_file_location(mod_id, path)
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's module failed: one line saying so
        raise ValueError(f"{spec!r}: importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{spec!r}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj
