"""Submission figures: Results and figure options in; every report figure at each journal width, as
SVG, PDF, PNG and TIFF bytes keyed by their path in the output folder, out.

Journals ask for figures made at their printed size (a single column is about 85 mm wide,
a double column about 170 mm), with no text below 6 pt at that size, in a colourblind-safe
palette (Okabe-Ito, ``FigureStyle``'s default), as vector files with embedded fonts or as
raster files of 300 dpi or more (600 dpi for line art), often LZW-compressed TIFF. Each
figure is therefore built again from the Results at each width (``FigureStyle(width_mm=w)``):
text keeps its size in points and the layout adapts, so the narrow figure is not a shrunken
copy of the wide one.

    figures/submission/<id>_<width>mm.svg            vector, text kept as text (editable)
    figures/submission/<id>_<width>mm.pdf            vector, fonts embedded as TrueType (Type 42)
    figures/submission/<id>_<width>mm_<dpi>dpi.png   RGB, resolution recorded (pHYs)
    figures/submission/<id>_<width>mm_<dpi>dpi.tiff  RGB, LZW-compressed, resolution recorded

A raster file is ``int(width_mm / 25.4 * dpi)`` pixels wide. Before export, the texts the
figure actually draws are checked (``text_problems``): a figure with text below
``MIN_FONT_PT``, texts that collide, or text cut off at the edge is left out at that width,
with a warning (multi-panel figures and forest plots may need the double-column width).
Same Results and options, same bytes: no dates, no software stamps, fixed SVG ids.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

import matplotlib.style
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from PIL import Image

from .export import figure_bytes
from .style import MIN_FONT_PT, FigureStyle

if TYPE_CHECKING:
    from ..format import NumberStyle
    from ..spec.model import FigureOptions, Study
    from .report_figures import RenderedFigure

__all__ = [
    "SUBMISSION_FOLDER",
    "drawn_texts",
    "encode",
    "raster_bytes",
    "rasterise",
    "study_submission_figures",
    "submission_figures",
    "submission_name",
    "text_problems",
]

SUBMISSION_FOLDER = "figures/submission"

#: Settings that change the exported bytes, fixed whatever the user's matplotlibrc says.
_RC = {"svg.hashsalt": "reportgen", "svg.fonttype": "none", "pdf.fonttype": 42}

#: Two texts on the same line closer than this (points) run into each other ("1218" for 12 and 18).
_MIN_GAP_PT = 1.0
#: Overlaps (points) smaller than this are rounding, not a collision or a cut-off.
_TOLERANCE_PT = 0.5


def submission_name(figure_id: str, width_mm: float, fmt: str, dpi: int | None = None) -> str:
    """Path of one file in the output folder, e.g. ``figures/submission/km_os_85mm_600dpi.tiff``.

    The id is made safe for a file name as for the report's own figure files (letters, digits,
    '_', '-' and '.' only)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", figure_id).lstrip(".") or "_"
    resolution = f"_{dpi}dpi" if dpi is not None else ""
    return f"{SUBMISSION_FOLDER}/{stem}_{width_mm:g}mm{resolution}.{fmt}"


# ---------------------------------------------------------------------------
# Checks of the drawn text
# ---------------------------------------------------------------------------


def drawn_texts(fig: Figure) -> list[tuple[Text, Bbox]]:
    """Every non-empty text the figure draws, with its extent in pixels at the figure's dpi.

    The figure is drawn once more, on an Agg renderer of its own, with each Text artist noting
    when it draws; so tick labels outside the axes' range (kept by matplotlib but not drawn)
    and hidden artists do not count, and multi-line texts do."""
    fig.draw_without_rendering()  # every tick label the drawing needs exists from here on
    w_in, h_in = fig.get_size_inches()
    renderer = RendererAgg(int(w_in * fig.dpi), int(h_in * fig.dpi), fig.dpi)
    texts = fig.findobj(Text)
    drawn: dict[int, Text] = {}

    def noting(text: Text) -> Any:
        draw = text.draw

        def draw_and_note(*args: Any, **kwargs: Any) -> Any:
            if text.get_visible() and text.get_text().strip():
                drawn[id(text)] = text
            return draw(*args, **kwargs)

        return draw_and_note

    for text in texts:
        text.draw = noting(text)  # type: ignore[method-assign]  # this artist only, removed below
    try:
        fig.draw(renderer)
    finally:
        for text in texts:
            del text.draw
    return [(text, text.get_window_extent(renderer)) for text in drawn.values()]


def text_problems(fig: Figure) -> list[str]:
    """What keeps the figure from print: text below ``MIN_FONT_PT`` (points at print size), texts
    that overlap or run into each other on a line, and text cut off at the figure's edge."""
    texts = drawn_texts(fig)
    px = fig.dpi / 72.0
    problems = [
        f"text {t.get_text()!r} is {t.get_fontsize():g} pt (at least {MIN_FONT_PT:g} pt)"
        for t, _ in texts
        if t.get_fontsize() < MIN_FONT_PT - 1e-9
    ]
    frame = fig.bbox
    tol = _TOLERANCE_PT * px
    for t, box in texts:
        if box.x0 < frame.x0 - tol or box.y0 < frame.y0 - tol or box.x1 > frame.x1 + tol or box.y1 > frame.y1 + tol:
            problems.append(f"text {t.get_text()!r} is cut off at the edge")
    for i, (a, box_a) in enumerate(texts):
        for b, box_b in texts[i + 1 :]:
            overlap_x = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
            overlap_y = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
            if overlap_y > tol and overlap_x > -_MIN_GAP_PT * px:
                problems.append(f"texts {a.get_text()!r} and {b.get_text()!r} collide")
    return problems


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


def rasterise(fig: Figure, dpi: int) -> Image.Image:
    """``fig`` drawn at ``dpi`` on white, as an RGB image ``int(width_in * dpi)`` pixels wide."""
    buf = io.BytesIO()
    with matplotlib.style.context(["default", _RC]):
        fig.savefig(buf, format="rgba", dpi=dpi, facecolor="white", edgecolor="none")
    raw = buf.getvalue()
    # Agg's canvas is the figure size in pixels, truncated (FigureCanvasAgg.get_width_height).
    width = int(fig.get_figwidth() * dpi)
    height = len(raw) // (4 * width)
    if width * height * 4 != len(raw):
        raise RuntimeError(f"unexpected raster size: {len(raw)} bytes for a width of {width} pixels")
    return Image.frombuffer("RGBA", (width, height), raw, "raw", "RGBA", 0, 1).convert("RGB")


def encode(image: Image.Image, fmt: Literal["png", "tiff"], dpi: int) -> bytes:
    """A PNG, or an LZW-compressed TIFF, of ``image`` with its resolution recorded. Deterministic:
    Pillow writes no date or software tag."""
    out = io.BytesIO()
    if fmt == "png":
        image.save(out, format="PNG", dpi=(dpi, dpi))
    elif fmt == "tiff":
        image.save(out, format="TIFF", compression="tiff_lzw", dpi=(dpi, dpi))
    else:
        raise ValueError(f"unsupported raster format {fmt!r}; choose png or tiff")
    return out.getvalue()


def raster_bytes(fig: Figure, fmt: Literal["png", "tiff"], dpi: int) -> bytes:
    """``fig`` as an RGB PNG or LZW-compressed TIFF at ``dpi`` (``rasterise`` then ``encode``)."""
    return encode(rasterise(fig, dpi), fmt, dpi)


def _files(rendered: RenderedFigure, fig: Figure, width_mm: float, options: FigureOptions) -> dict[str, bytes]:
    """One figure at one width in every format asked for: the SVG is the one already made while the
    figure was built (``figure_bytes``), and each dpi is rasterised once for both PNG and TIFF."""
    files: dict[str, bytes] = {}
    if "svg" in options.formats:
        files[submission_name(rendered.id, width_mm, "svg")] = rendered.svg
    if "pdf" in options.formats:
        files[submission_name(rendered.id, width_mm, "pdf")] = figure_bytes(fig, "pdf")
    raster = [fmt for fmt in ("png", "tiff") if fmt in options.formats]
    for dpi in options.dpi if raster else []:
        image = rasterise(fig, dpi)
        for fmt in raster:
            files[submission_name(rendered.id, width_mm, fmt, dpi)] = encode(image, fmt, dpi)
    return files


def submission_figures(
    results: dict[str, Any],
    options: FigureOptions,
    style: NumberStyle,
    *,
    break_time: float | None = None,
    km_panels_by: str | None = None,
    supplement: bool = True,
    base: FigureStyle | None = None,
) -> tuple[dict[str, bytes], list[str]]:
    """Every report figure (and, with ``supplement``, every supplementary figure) at each width in
    ``options.widths_mm``, in each format of ``options.formats`` (PNG and TIFF at each dpi).

    ``style`` formats the numbers in the figures (as in the report); ``base`` gives every other
    figure setting (default ``FigureStyle()``), its width replaced by each width in turn. A
    figure that cannot be drawn at a width (a forest plot's text columns need more than a
    single column), or whose text fails ``text_problems`` there, is left out at that width.
    Returns the files keyed by their path in the output folder, and a warning for each figure
    left out."""
    from .report_figures import all_figures, supplement_figures

    base = base or FigureStyle()
    files: dict[str, bytes] = {}
    warnings: list[str] = []
    for width in options.widths_mm:
        fig_style = replace(base, width_mm=width)
        skipped: list[str] = []
        figures = all_figures(results, style, fig_style, break_time, km_panels_by, skipped)
        if supplement:
            figures += supplement_figures(results, style, fig_style, skipped)
        for rendered in figures:
            if rendered.figure is None:
                raise ValueError(f"figure {rendered.id!r} carries no matplotlib Figure to export")
            problems = text_problems(rendered.figure)
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                skipped.append(f"{rendered.id}: {problems[0]}{more}")
                continue
            files.update(_files(rendered, rendered.figure, width, options))
        warnings.extend(f"no {width:g} mm version of figure {reason}" for reason in skipped)
    return files, warnings


def study_submission_figures(study: Study, results: dict[str, Any]) -> tuple[dict[str, bytes], list[str]]:
    """``submission_figures`` with the study's own options: figure settings (``figures:``), number
    style (``style:``), KM tick interval, KM panels, and supplementary figures when the manuscript
    has a supplement. Journal figures belong to manuscripts: other report kinds (whose figures
    may be built from protected counts) get none, and a warning."""
    from ..format.presets import number_style

    if study.kind != "manuscript":
        return {}, [f"figures.submission applies to manuscripts; no submission figures for kind {study.kind!r}"]
    return submission_figures(
        results,
        study.figures,
        number_style(study.style),
        break_time=study.analysis.km.break_time,
        km_panels_by=study.analysis.subgroup.km_panels,
        supplement=study.manuscript.supplement,
    )
