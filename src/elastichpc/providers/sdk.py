"""Importing a cloud's SDK, with one clear line when it cannot be."""

from __future__ import annotations

import importlib

from ..errors import PrerequisiteError


def require_sdk(cloud: str, module: str, extra: str) -> None:
    """Import `module`, or say which import failed: the SDK itself, or a library it needs (a
    head agent's copy of the client's libraries can miss one the SDK imports)."""
    try:
        importlib.import_module(module)
    except ImportError as err:
        missing = err.name or module
        because = "" if module.startswith(missing) else f" (it cannot import {missing}: {err})"
        raise PrerequisiteError(
            f"the {cloud} provider needs {module}{because}: pip install 'elastichpc[{extra}]'"
        ) from None
