"""Locations of the shipped templates and styles (in the wheel: reportgen/_assets; in a checkout: top level)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def asset_dir(name: str) -> Path:
    """The folder of shipped ``templates`` or ``styles``."""
    for candidate in (_PACKAGE / "_assets" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"reportgen installation is missing its {name}/ folder")
