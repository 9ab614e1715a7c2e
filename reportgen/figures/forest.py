"""Forest plots: rows of hazard ratios with their CIs and preformatted text in; a matplotlib Figure out.

Input: one ``ForestRow`` per line of the plot (variable headers, the overall
estimate, subgroup levels, reference levels), each with its text columns already
formatted by the caller, so the figure shows exactly the text of the matching
table. Output: a journal-style subgroup forest plot, laid out in points:

    label block | plot panel (log HR axis) | text columns (one per column label)

Column widths follow the measured text extents (the Agg renderer's own metrics
at the figure's dpi); when the text does not leave the plot panel enough room
the font shrinks in half-point steps down to ``MIN_FONT_PT``, then the labels
wrap. Squares have an area proportional to the row's weight (inverse variance),
the overall row is a diamond spanning its CI, CIs beyond the axis end in an
arrowhead, and rows that cannot be estimated show their note in the panel.

``TextRuler`` (text extents in points) is shared with the other figure builders.
Matplotlib's object API only; fonts, sizes and colours come from ``FigureStyle``.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import matplotlib.style
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.path import Path as MarkerPath
from matplotlib.text import Text
from matplotlib.ticker import NullLocator

from reportgen.figures.style import MIN_FONT_PT, MM_PER_INCH, FigureStyle

__all__ = [
    "ForestRow",
    "TextRuler",
    "forest_figure",
    "forest_ticks",
    "forest_xlim",
    "square_sides",
]

RowKind = Literal["header", "overall", "row", "reference"]

#: Artist ids, so that tests and later styling steps can find each part.
PANEL_AXES = "forest-panel"
SQUARES_GID = "forest-squares"
DIAMOND_GID = "forest-diamond"
WHISKER_GID = "forest-ci"
ARROW_GID = "forest-arrow"
NOTE_GID = "forest-note"

#: Readable tick positions of a log HR axis (symmetric about 1 on the log scale).
_TICKS = (0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 20.0, 50.0, 100.0)
#: Ticks kept first when labels do not fit, level by level.
_TICK_LEVELS = ((1.0, 0.1, 10.0, 0.01, 100.0), (0.5, 2.0, 0.05, 20.0), (0.25, 4.0, 0.02, 50.0))
#: The automatic axis never extends beyond this range (arrows show longer CIs).
AUTO_XLIM_RANGE = (0.05, 20.0)
#: The automatic axis always covers at least this range around HR = 1.
_MIN_XLIM = (0.5, 2.0)

#: Row height (mm at print size), grown for wrapped lines.
_ROW_MM = 5.0
#: Indentation per level, in font sizes.
_INDENT_EM = 1.0
#: Gap between neighbouring blocks and columns, in font sizes (at least).
_GAP_EM = 1.0
#: Figure margin, in points.
_MARGIN_PT = 4.0
#: Plot panel width as a fraction of the figure width: preferred minimum,
#: last-resort minimum, and maximum (extra width goes to the gaps).
_PANEL_MIN, _PANEL_HARD_MIN, _PANEL_MAX = 0.25, 0.16, 0.45
#: Side of the largest square, as a fraction of the base row height; fsest side in points.
_SQUARE_MAX_ROW, _SQUARE_MIN_PT = 0.62, 2.6
#: Height of the overall diamond, as a fraction of the base row height.
_DIAMOND_ROW = 0.6
#: Header lines a column label may wrap onto.
_MAX_HEADER_LINES = 3
#: Arrowheads with their tip at the marker position (the axis end).
_ARROW_RIGHT = MarkerPath([(0.0, 0.0), (-1.0, 0.55), (-1.0, -0.55), (0.0, 0.0)], closed=True)
_ARROW_LEFT = MarkerPath([(0.0, 0.0), (1.0, 0.55), (1.0, -0.55), (0.0, 0.0)], closed=True)
#: Note text colour.
_NOTE_GREY = "#595959"


@dataclass(frozen=True)
class ForestRow:
    """One line of a forest plot; all text already formatted by the caller.

    ``kind``: "header" (a variable name, bold, no marker), "overall" (diamond),
    "row" (square sized by ``weight``), "reference" (the reference level: text
    only). ``columns`` holds one text per column label (may be empty for a row
    without text). ``note`` replaces the marker, e.g. "not estimable (no events
    in one arm)". ``hr``/``lower``/``upper`` are positive; an infinite or missing
    limit is drawn as an arrow to the axis end.
    """

    label: str
    kind: RowKind
    indent: int = 0
    hr: float | None = None
    lower: float | None = None
    upper: float | None = None
    weight: float | None = None
    columns: tuple[str, ...] = ()
    note: str | None = None


# ---------------------------------------------------------------------------
# Text measurement
# ---------------------------------------------------------------------------


class TextRuler:
    """Extents (points at print size) of text as the Agg renderer draws it in ``fig``."""

    def __init__(self, fig: Figure, family: str) -> None:
        canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
        self._fig = fig
        self._renderer = canvas.get_renderer()
        self._family = family
        self._cache: dict[tuple[str, float, str, str, float], tuple[float, float]] = {}

    def extent(
        self,
        text: str,
        size: float,
        *,
        weight: str = "normal",
        style: str = "normal",
    ) -> tuple[float, float]:
        """(width, height) of ``text`` in points; (0, 0) for empty text.

        Texts keep matplotlib's default line spacing ("normal"): a number there
        would place each line's baseline by its own glyphs (matplotlib >= 3.11),
        so that texts side by side in one row would not share a baseline.
        """
        if not text:
            return (0.0, 0.0)
        key = (text, float(size), weight, style)
        if key not in self._cache:
            artist = Text(
                0.0, 0.0, text, fontsize=size, fontweight=weight, fontstyle=style,
                fontfamily=self._family,
            )  # fmt: skip
            artist.set_figure(self._fig)
            box = artist.get_window_extent(self._renderer)
            px = self._fig.dpi / 72.0
            self._cache[key] = (box.width / px, box.height / px)
        return self._cache[key]

    def width(self, text: str, size: float, **font: str) -> float:
        """Width of ``text`` in points."""
        return self.extent(text, size, **font)[0]

    def wrap(self, text: str, max_pt: float, size: float, *, balanced: bool = False, **font: str) -> str:
        """``text`` broken at spaces into the fewest lines no wider than ``max_pt``.

        ``textwrap`` runs at decreasing line lengths (characters) until every line
        measures at most ``max_pt``. With ``balanced``, the line length keeps
        decreasing while the number of lines stays the same, and the narrowest
        result wins (two even lines rather than a long one and a short one).
        Existing line breaks are kept; words are never split, so a single word
        wider than ``max_pt`` keeps a line of its own.
        """
        if self.width(text, size, **font) <= max_pt:
            return text
        paragraphs = text.split("\n")

        def lines_at(chars: int) -> list[str]:
            return [ln for p in paragraphs for ln in (textwrap.wrap(p, chars, break_long_words=False) or [""])]

        def widest(lines: list[str]) -> float:
            return max(self.width(ln, size, **font) for ln in lines)

        chars = max(len(p) for p in paragraphs)
        best = lines_at(chars)
        while chars > 1:
            if all(self.width(ln, size, **font) <= max_pt or " " not in ln for ln in best):
                break
            chars -= 1
            best = lines_at(chars)
        if balanced:
            n_lines, best_w = len(best), widest(best)
            for shorter in range(chars - 1, 0, -1):
                lines = lines_at(shorter)
                if len(lines) != n_lines:
                    break
                if widest(lines) < best_w:
                    best, best_w = lines, widest(lines)
        return "\n".join(best)


# ---------------------------------------------------------------------------
# Pure helpers: axis range, ticks, square sizes
# ---------------------------------------------------------------------------


def _finite_positive(v: float | None) -> bool:
    return v is not None and math.isfinite(v) and v > 0


def forest_xlim(rows: Sequence[ForestRow]) -> tuple[float, float]:
    """Automatic x range: the readable ticks just covering every HR and CI limit and 1.

    The range is clipped to ``AUTO_XLIM_RANGE`` (longer CIs end in arrows) and
    covers at least 0.5 to 2.
    """
    values = [
        v
        for r in rows
        if r.kind in ("overall", "row") and r.note is None and _finite_positive(r.hr)
        for v in (r.hr, r.lower, r.upper)
        if _finite_positive(v)
    ]
    lo = min([*values, _MIN_XLIM[0]])
    hi = max([*values, _MIN_XLIM[1]])
    lo_tick = max((t for t in _TICKS if t <= lo * (1 + 1e-9)), default=_TICKS[0])
    hi_tick = min((t for t in _TICKS if t >= hi * (1 - 1e-9)), default=_TICKS[-1])
    return (max(lo_tick, AUTO_XLIM_RANGE[0]), min(hi_tick, AUTO_XLIM_RANGE[1]))


def forest_ticks(xlim: tuple[float, float]) -> list[float]:
    """Candidate tick positions inside ``xlim`` (always including its ends' readable ticks)."""
    lo, hi = xlim
    return [t for t in _TICKS if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]


def square_sides(weights: Sequence[float | None], *, max_side: float, min_side: float) -> np.ndarray:
    """Side (points) of each square: area proportional to weight, clamped to [min_side, max_side].

    Weights are normalised by the largest weight among the rows given; a missing
    weight gets the middle of the range (sqrt of the mean area).
    """
    w = np.array([np.nan if x is None else float(x) for x in weights], dtype=float)
    w[~np.isfinite(w) | (w < 0)] = np.nan
    if w.size == 0:
        return w
    w_max = np.nanmax(w) if np.any(np.isfinite(w)) else np.nan
    if not (np.isfinite(w_max) and w_max > 0):
        return np.full(w.size, math.sqrt(0.5 * (max_side**2 + min_side**2)))
    side = max_side * np.sqrt(w / w_max)
    side[np.isnan(side)] = math.sqrt(0.5 * (max_side**2 + min_side**2))
    return np.clip(side, min_side, max_side)


def _thin_ticks(
    ticks: list[float], labels: dict[float, float], xlim: tuple[float, float], panel_pt: float,
    gap_pt: float,
) -> list[float]:  # fmt: skip
    """The densest tick set (by ``_TICK_LEVELS``) whose labels do not collide."""
    lo, hi = (math.log(v) for v in xlim)

    def position(t: float) -> float:
        return (math.log(t) - lo) / (hi - lo) * panel_pt

    def fits(chosen: list[float]) -> bool:
        pts = sorted(chosen)
        return all(
            position(b) - position(a) >= 0.5 * (labels[a] + labels[b]) + gap_pt
            for a, b in zip(pts, pts[1:], strict=False)
        )

    chosen = [t for t in ticks if t in _TICK_LEVELS[0]] or ticks[:1]
    for level in _TICK_LEVELS[1:]:
        trial = sorted(chosen + [t for t in ticks if t in level])
        if not fits(trial):
            break
        chosen = trial
    extra = sorted(set(ticks) - {t for level in _TICK_LEVELS for t in level})
    if extra and fits(sorted(chosen + extra)):
        chosen = sorted(chosen + extra)
    return sorted(chosen)


def _limit(v: float | None, hr: float) -> float:
    """A CI limit as drawn: ``hr`` when missing (None or NaN), else the value (0 and inf kept)."""
    return hr if v is None or math.isnan(v) else float(v)


def _tick_label(v: float) -> str:
    return f"{v:g}"


# ---------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------


@dataclass
class _Layout:
    """Horizontal layout and wrapped text at one font size (all lengths in points)."""

    fs: float
    labels: list[str]
    headers: list[str]
    label_w: float
    col_w: list[float]
    panel_w: float
    gap: float
    x_label: float = 0.0
    x_panel: float = 0.0
    x_cols: list[float] = field(default_factory=list)


def _check(rows: Sequence[ForestRow], column_labels: tuple[str, ...]) -> None:
    if not rows:
        raise ValueError("a forest plot needs at least one row")
    problems = []
    n_cols = len(column_labels)
    for i, r in enumerate(rows):
        where = f"row {i} ({r.label!r})"
        if r.kind not in ("header", "overall", "row", "reference"):
            problems.append(f"{where}: unknown kind {r.kind!r}")
        if r.columns and len(r.columns) != n_cols:
            problems.append(f"{where}: {len(r.columns)} column texts for {n_cols} column labels")
        if r.indent < 0:
            problems.append(f"{where}: indent must be >= 0, got {r.indent}")
        for name in ("hr", "lower", "upper"):
            v = getattr(r, name)
            if v is not None and not (v > 0 or math.isnan(v) or (name == "lower" and v == 0)):
                problems.append(f"{where}: {name} must be positive, got {v!r}")
        if (
            _finite_positive(r.hr)
            and (_finite_positive(r.lower) and r.lower > r.hr * (1 + 1e-12)
                 or _finite_positive(r.upper) and r.upper < r.hr * (1 - 1e-12))
        ):  # fmt: skip
            problems.append(f"{where}: the CI ({r.lower}, {r.upper}) does not contain hr {r.hr}")
        if r.weight is not None and not r.weight >= 0:
            problems.append(f"{where}: weight must be >= 0, got {r.weight!r}")
    if problems:
        raise ValueError("; ".join(problems))


def _header_text(ruler: TextRuler, header: str, cells_w: float, fs: float) -> str:
    """The column label, wrapped onto at most ``_MAX_HEADER_LINES`` lines when wider than its cells."""
    if ruler.width(header, fs, weight="bold") <= cells_w:
        return header
    options = []
    words = max((len(w) for w in header.split()), default=1)
    for chars in range(max(len(p) for p in header.split("\n")), words - 1, -1):
        lines = [ln for p in header.split("\n") for ln in textwrap.wrap(p, chars) or [""]]
        if len(lines) > _MAX_HEADER_LINES:
            break
        text = "\n".join(lines)
        options.append((max(ruler.width(ln, fs, weight="bold") for ln in lines), len(lines), text))
    if not options:
        return header
    narrow_enough = [o for o in options if o[0] <= cells_w]
    if narrow_enough:
        return min(narrow_enough, key=lambda o: (o[1], o[0]))[2]
    return min(options, key=lambda o: (o[0], o[1]))[2]


def _horizontal(
    ruler: TextRuler,
    rows: Sequence[ForestRow],
    column_labels: tuple[str, ...],
    label_header: str,
    fs: float,
    width_pt: float,
    *,
    label_max: float | None,
) -> _Layout:
    """Widths at font size ``fs``; ``label_max`` wraps the labels to that width."""
    indent_pt = _INDENT_EM * fs
    labels = []
    label_w = ruler.width(label_header, fs, weight="bold")
    for r in rows:
        weight = "bold" if r.kind in ("header", "overall") else "normal"
        text = r.label
        if label_max is not None:
            text = ruler.wrap(text, max(label_max - r.indent * indent_pt, 4 * fs), fs, weight=weight)
        labels.append(text)
        label_w = max(label_w, r.indent * indent_pt + ruler.width(text, fs, weight=weight))
    headers, col_w = [], []
    for j, head in enumerate(column_labels):
        cells = max((ruler.width(r.columns[j], fs) for r in rows if r.columns), default=0.0)
        text = _header_text(ruler, head, cells, fs)
        headers.append(text)
        col_w.append(max(cells, ruler.width(text, fs, weight="bold")))
    gap = _GAP_EM * fs
    n_gaps = len(col_w) + 1
    panel = width_pt - 2 * _MARGIN_PT - label_w - sum(col_w) - n_gaps * gap
    return _Layout(fs, labels, headers, label_w, col_w, panel, gap)


def _fit(
    ruler: TextRuler,
    rows: Sequence[ForestRow],
    column_labels: tuple[str, ...],
    label_header: str,
    style: FigureStyle,
) -> _Layout:
    """The largest font size (then label wrapping) that leaves the panel its minimum width."""
    width_pt = style.width_in * 72.0
    sizes = []
    fs = style.font_size_pt
    while fs >= MIN_FONT_PT - 1e-9:
        sizes.append(fs)
        fs -= 0.5
    layout = None
    for fs in sizes:
        layout = _horizontal(ruler, rows, column_labels, label_header, fs, width_pt, label_max=None)
        if layout.panel_w >= _PANEL_MIN * width_pt:
            break
    assert layout is not None
    if layout.panel_w < _PANEL_MIN * width_pt:
        # Last resort: wrap the labels so that the panel gets its preferred width,
        # but never narrower than a fifth of the figure.
        spare = layout.panel_w - _PANEL_MIN * width_pt
        label_max = max(layout.label_w + spare, 0.2 * width_pt)
        layout = _horizontal(ruler, rows, column_labels, label_header, layout.fs, width_pt, label_max=label_max)
    if layout.panel_w < _PANEL_HARD_MIN * width_pt:
        raise ValueError(
            f"the text columns need {width_pt - layout.panel_w:.0f} pt of the figure's "
            f"{width_pt:.0f} pt even at {layout.fs:g} pt, leaving no room for the plot; "
            "shorten the column texts or use a wider figure"
        )
    # Extra width beyond the panel's maximum goes to the gaps.
    extra = layout.panel_w - _PANEL_MAX * width_pt
    if extra > 0:
        n_gaps = len(layout.col_w) + 1
        layout.panel_w -= extra
        layout.gap += extra / n_gaps
    layout.x_label = _MARGIN_PT
    layout.x_panel = layout.x_label + layout.label_w + layout.gap
    x = layout.x_panel + layout.panel_w + layout.gap
    for w in layout.col_w:
        layout.x_cols.append(x + 0.5 * w)
        x += w + layout.gap
    return layout


# ---------------------------------------------------------------------------
# Figure
# ---------------------------------------------------------------------------


def forest_figure(
    rows: Sequence[ForestRow],
    *,
    column_labels: tuple[str, ...],
    label_header: str = "Subgroup",
    favours: tuple[str, str] | None = None,
    xlim: tuple[float, float] | None = None,
    x_label: str = "Hazard ratio (95% CI)",
    style: FigureStyle = FigureStyle(),  # noqa: B008 - frozen, immutable default
) -> Figure:
    """A subgroup forest plot: labels, a log-scale HR panel, and right-hand text columns.

    ``favours`` = (left, right) adds "← Favours left" and "Favours right →" under
    the axis. ``xlim`` fixes the axis (default: ``forest_xlim(rows)``); CIs beyond
    it end in arrowheads, and an HR beyond it draws no square (its text column
    still gives the value). The figure is ``style.width_mm`` wide and about 5 mm
    high per row.
    """
    _check(rows, column_labels)
    if xlim is not None and not (0 < xlim[0] < 1 < xlim[1] and all(map(math.isfinite, xlim))):
        raise ValueError(f"xlim must satisfy 0 < low < 1 < high, got {xlim!r}")
    with matplotlib.style.context(["default", style.rc()]):
        return _draw(
            list(rows),
            column_labels=tuple(column_labels),
            label_header=label_header,
            favours=favours,
            xlim=xlim if xlim is not None else forest_xlim(rows),
            x_label=x_label,
            style=style,
        )


def _draw(
    rows: list[ForestRow],
    *,
    column_labels: tuple[str, ...],
    label_header: str,
    favours: tuple[str, str] | None,
    xlim: tuple[float, float],
    x_label: str,
    style: FigureStyle,
) -> Figure:
    family = style.font_family
    width_pt = style.width_in * 72.0
    fig = Figure(figsize=(style.width_in, 1.0), dpi=style.dpi)
    fig.patch.set_facecolor("white")
    ruler = TextRuler(fig, family)
    lay = _fit(ruler, rows, column_labels, label_header, style)
    fs = lay.fs
    line = ruler.extent("Ag\nAg", fs)[1] - ruler.extent("Ag", fs)[1]

    # Notes live in the panel: wrap them to its width.
    notes = [ruler.wrap(r.note, lay.panel_w - fs, fs, style="italic") if r.note else None for r in rows]

    # Vertical layout (points from the top).
    base_row = max(_ROW_MM / MM_PER_INCH * 72.0, 1.6 * fs)
    n_lines = [
        max(
            lbl.count("\n") + 1,
            note.count("\n") + 1 if note else 1,
            *(c.count("\n") + 1 for c in r.columns),
        )
        for r, lbl, note in zip(rows, lay.labels, notes, strict=True)
    ]
    heights = [base_row + (n - 1) * line for n in n_lines]
    header_lines = max([h.count("\n") + 1 for h in lay.headers] + [label_header.count("\n") + 1])
    header_bottom = _MARGIN_PT + header_lines * line + 0.2 * fs
    rule_y = header_bottom + 0.35 * fs
    rows_top = rule_y + 0.15 * fs
    edges = rows_top + np.concatenate(([0.0], np.cumsum(heights)))
    centres = 0.5 * (edges[:-1] + edges[1:])
    rows_bottom = float(edges[-1])
    tick_h = ruler.extent("0.1", fs)[1]
    ticks_bottom = rows_bottom + 3.0 + 2.5 + tick_h
    y = ticks_bottom + 0.8 * fs
    # "Favours" texts meet at HR = 1, each wrapped to the room on its side.
    x_one = lay.x_panel + lay.panel_w * (math.log(1.0 / xlim[0]) / math.log(xlim[1] / xlim[0]))
    fav_pad = 0.5 * fs
    fav_text: tuple[str, str] | None = None
    if favours is not None:
        fav_text = (
            ruler.wrap(f"\u2190 Favours {favours[0]}", x_one - fav_pad - _MARGIN_PT, fs, balanced=True),
            ruler.wrap(
                f"Favours {favours[1]} \u2192",
                width_pt - _MARGIN_PT - x_one - fav_pad,
                fs,
                balanced=True,
            ),
        )
        fav_h = max(ruler.extent(t, fs)[1] for t in fav_text)
        fav_y = y
        y += fav_h + 0.6 * fs
    xlab_y = y
    y += ruler.extent(x_label, fs)[1] if x_label else 0.0
    height_pt = y + _MARGIN_PT
    fig.set_size_inches(style.width_in, height_pt / 72.0)

    def fx(x_pt: float) -> float:
        return x_pt / width_pt

    def fy(y_pt: float) -> float:
        return 1.0 - y_pt / height_pt

    # Plot panel: x = HR (log), y = points from the top of the rows block.
    ax = fig.add_axes(
        (
            fx(lay.x_panel),
            fy(rows_bottom),
            lay.panel_w / width_pt,
            (rows_bottom - rows_top) / height_pt,
        )
    )
    ax.set_label(PANEL_AXES)
    ax.set_xscale("log")
    ax.set_xlim(*xlim)
    ax.set_ylim(rows_bottom - rows_top, 0.0)
    ax.set_facecolor("none")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_linewidth(style.axis_line_width_pt)
    label_w = {t: ruler.width(_tick_label(t), fs) for t in forest_ticks(xlim)}
    ticks = _thin_ticks(forest_ticks(xlim), label_w, xlim, lay.panel_w, 0.5 * fs)
    ax.set_xticks(ticks, [_tick_label(t) for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_yticks([])
    ax.tick_params(
        axis="x", which="major", direction="out", length=3.0, width=style.axis_line_width_pt,
        pad=2.5, labelsize=fs, labelfontfamily=family, color="black", labelcolor="black",
    )  # fmt: skip
    ax.axvline(1.0, color="black", linewidth=style.axis_line_width_pt, zorder=1)

    _markers(ax, rows, centres - rows_top, notes, xlim, lay.panel_w, base_row, fs, style)

    # Text: column headers, labels, columns.
    def put(x: float, y: float, text: str, **kw: object) -> Text:
        return fig.text(
            fx(x), fy(y), text, fontfamily=family,
            **kw,  # type: ignore[arg-type]
        )  # fmt: skip

    put(lay.x_label, header_bottom, label_header, fontsize=fs, fontweight="bold", va="bottom",
        ha="left")  # fmt: skip
    for xc, head in zip(lay.x_cols, lay.headers, strict=True):
        put(xc, header_bottom, head, fontsize=fs, fontweight="bold", va="bottom", ha="center",
            multialignment="center")  # fmt: skip
    fig.add_artist(
        Line2D(
            [fx(_MARGIN_PT), fx(width_pt - _MARGIN_PT)], [fy(rule_y)] * 2,
            transform=fig.transFigure, color="black", linewidth=style.axis_line_width_pt,
        )
    )  # fmt: skip
    for r, lbl, yc in zip(rows, lay.labels, centres, strict=True):
        bold = r.kind in ("header", "overall")
        put(lay.x_label + r.indent * _INDENT_EM * fs, yc, lbl, fontsize=fs, va="center",
            ha="left", fontweight="bold" if bold else "normal")  # fmt: skip
        for xc, cell in zip(lay.x_cols, r.columns, strict=False):
            if cell:
                put(xc, yc, cell, fontsize=fs, va="center", ha="center", multialignment="center")

    # Under the axis: favours, then the axis label.
    if fav_text is not None:
        put(x_one - fav_pad, fav_y, fav_text[0], fontsize=fs, ha="right", va="top",
            multialignment="right")  # fmt: skip
        put(x_one + fav_pad, fav_y, fav_text[1], fontsize=fs, ha="left", va="top")
    if x_label:
        xw = ruler.width(x_label, fs)
        xc = lay.x_panel + 0.5 * lay.panel_w
        xc = min(max(xc, _MARGIN_PT + 0.5 * xw), width_pt - _MARGIN_PT - 0.5 * xw)
        put(xc, xlab_y, x_label, fontsize=fs, ha="center", va="top")
    return fig


def _markers(
    ax: Axes,
    rows: list[ForestRow],
    centres: np.ndarray,
    notes: list[str | None],
    xlim: tuple[float, float],
    panel_w: float,
    base_row: float,
    fs: float,
    style: FigureStyle,
) -> None:
    """Squares, diamonds, CI whiskers, arrowheads and notes in the panel (y: points from top)."""
    lo, hi = xlim
    colour = style.colour(0)
    lw = style.line_width_pt
    square_rows = [
        i
        for i, r in enumerate(rows)
        if r.kind == "row" and r.note is None and _finite_positive(r.hr) and lo <= r.hr <= hi
    ]
    sides = square_sides(
        [rows[i].weight for i in square_rows],
        max_side=_SQUARE_MAX_ROW * base_row,
        min_side=_SQUARE_MIN_PT,
    )
    arrow_size = max(6.0, 0.6 * base_row)
    # A whisker ending in an arrowhead stops at the arrowhead's base.
    shrink = math.exp(0.5 * arrow_size / panel_w * math.log(hi / lo))
    for i, r in enumerate(rows):
        y = float(centres[i])
        if notes[i] is not None:
            ax.text(
                math.sqrt(lo * hi), y, notes[i], ha="center", va="center", fontsize=fs,
                fontstyle="italic", color=_NOTE_GREY, fontfamily=style.font_family,
                multialignment="center", gid=NOTE_GID, zorder=4,
                bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none"},
            )  # fmt: skip
            continue
        if r.kind not in ("row", "overall") or not _finite_positive(r.hr):
            continue
        # A missing (None/NaN) limit draws no whisker on its side; 0 or inf runs off the axis.
        left = _limit(r.lower, r.hr)
        right = _limit(r.upper, r.hr)
        x0 = lo * shrink if left < lo else min(left, hi)
        x1 = hi / shrink if right > hi else max(right, lo)
        if x0 < x1 and r.kind == "row":
            ax.plot(
                [x0, x1], [y, y], color="black", linewidth=lw, solid_capstyle="butt", zorder=2,
                gid=WHISKER_GID, clip_on=False,
            )  # fmt: skip
        for beyond, edge, marker in (
            (left < lo, lo, _ARROW_LEFT),
            (right > hi, hi, _ARROW_RIGHT),
        ):
            if beyond:
                ax.plot(
                    [edge], [y], linestyle="none", marker=marker, markersize=arrow_size,
                    color="black", markeredgewidth=0, clip_on=False, zorder=3, gid=ARROW_GID,
                )  # fmt: skip
        if r.kind == "overall" and lo <= r.hr <= hi:
            half = 0.5 * _DIAMOND_ROW * base_row
            xa = min(max(left, lo), hi)
            xb = min(max(right, lo), hi)
            diamond = Polygon(
                [(xa, y), (r.hr, y - half), (xb, y), (r.hr, y + half)], closed=True,
                facecolor="black", edgecolor="black", linewidth=0.5, zorder=3, gid=DIAMOND_GID,
                clip_on=False,
            )  # fmt: skip
            ax.add_patch(diamond)
    if square_rows:
        ax.scatter(
            [rows[i].hr for i in square_rows], centres[square_rows], s=sides**2, marker="s",
            facecolor=colour, edgecolor="none", zorder=3, gid=SQUARES_GID, clip_on=False,
        )  # fmt: skip
