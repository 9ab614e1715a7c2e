"""Figure export: a matplotlib Figure in; byte-identical SVG / PNG / PDF bytes and files out.

Same figure, same bytes: no dates, no software stamp in PNGs, a fixed SVG hash
salt (clip-path and glyph ids), and text kept as text in SVG (smaller files, and
searchable, selectable text once embedded in the HTML or PDF report).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib.style
from matplotlib.figure import Figure

#: Formats ``figure_bytes`` writes, with the metadata that keeps them reproducible.
_METADATA: dict[str, dict[str, Any]] = {
    "svg": {"Date": None},
    "png": {"Software": None},
    "pdf": {"CreationDate": None, "ModDate": None},
}

_RC = {
    "svg.hashsalt": "reportgen",
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
}

#: Raster output never falls below this resolution.
MIN_DPI = 300


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """Encode ``fig`` as ``fmt`` ("svg", "png" or "pdf"), deterministically.

    The figure keeps its own size (no tight bounding box: the printed width is
    the one the style asked for); PNGs use the figure's dpi, at least 300.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in _METADATA:
        raise ValueError(f"unsupported figure format {fmt!r}; choose one of {', '.join(sorted(_METADATA))}")
    buf = io.BytesIO()
    # Matplotlib's defaults plus our settings: a user's matplotlibrc (say
    # savefig.bbox: tight) must not change the bytes.
    with matplotlib.style.context(["default", _RC]):
        fig.savefig(
            buf,
            format=fmt,
            dpi=max(MIN_DPI, fig.get_dpi()),
            metadata=_METADATA[fmt],
            facecolor="white",
            edgecolor="none",
        )
    return buf.getvalue()


def save_figure(fig: Figure, basepath: Path, formats: Iterable[str] = ("svg", "png")) -> dict[str, Path]:
    """Write ``fig`` as ``basepath.<fmt>`` for each format; return {format: path}.

    All formats are encoded in memory first, so a failure writes no file.
    """
    basepath = Path(basepath)
    encoded = {fmt.lower().lstrip("."): b"" for fmt in formats}
    for fmt in encoded:
        encoded[fmt] = figure_bytes(fig, fmt)
    basepath.parent.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for fmt, data in encoded.items():
        path = basepath.parent / f"{basepath.name}.{fmt}"
        path.write_bytes(data)
        written[fmt] = path
    return written
