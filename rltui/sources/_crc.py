"""The C CRC-32C function, without the 35-45 ms the ``crc32c`` package spends importing itself.

The package's ``__init__`` calls ``importlib.metadata.version("crc32c")`` for its ``__version__``,
which imports ``importlib.metadata`` (and ``email``, ``zipfile``...): most of what a ``check`` of a
tiny run costs beyond numpy. The function lives in the compiled ``crc32c._crc32c`` extension,
which imports nothing, so it is loaded from the package's folder directly. Anything unexpected
(another layout, a pure-Python build) falls back to the ordinary import.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
from collections.abc import Callable
from typing import Any

CrcFn = Callable[..., int]


def _load() -> CrcFn:
    try:
        spec = importlib.util.find_spec("crc32c")  # finds the package without running it
        folder = list(spec.submodule_search_locations or []) if spec is not None else []
        for directory in folder:
            for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                path = os.path.join(directory, "_crc32c" + suffix)
                if not os.path.exists(path):
                    continue
                loader = importlib.machinery.ExtensionFileLoader("crc32c._crc32c", path)
                ext_spec = importlib.util.spec_from_file_location("crc32c._crc32c", path, loader=loader)
                if ext_spec is None:
                    continue
                module: Any = importlib.util.module_from_spec(ext_spec)
                loader.exec_module(module)
                fn: CrcFn = module.crc32c
                if fn(b"123456789") == 0xE3069283:  # the CRC-32C check value
                    return fn
    except (ImportError, OSError, AttributeError, TypeError):
        pass
    import crc32c as package

    slow: CrcFn = package.crc32c
    return slow


crc32c: CrcFn = _load()
