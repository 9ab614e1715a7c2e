"""Kaplan-Meier figures: KM step tables (one per group) in; a matplotlib Figure out.

Input: one ``CurveInput`` per group, whose ``curve`` has numpy array attributes
``time, n_risk, n_event, n_censor, survival, lower, upper`` (one row per distinct
observed time, ascending, time 0 not included; survival and CI just after each
time; n_risk just before it). The figure draws step curves starting at (0, 1),
optional pointwise CI bands, censoring marks, a legend, an optional annotation
(test and HR text, already formatted by the caller) and a numbers-at-risk table
aligned to the x ticks. The legend (top right) and the annotation (lower left)
move to the nearest spot where they cross no curve; failing that, the legend
goes above the panels and the annotation above its panel (see ``_finish_layout``).

Large data are thinned before drawing (``thin_steps``): at most
``FigureStyle.max_points`` points and ``FigureStyle.max_censor_marks`` censoring
marks per curve, so a curve of 10^6 patients draws in a fraction of a second
and its SVG stays small. Built with matplotlib's object API only; every
font, size and colour comes from the ``FigureStyle`` passed in.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.style
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.text import Annotation
from matplotlib.textpath import TextToPath
from matplotlib.transforms import Bbox

from reportgen.figures.style import FigureStyle

__all__ = [
    "CurveInput",
    "km_figure",
    "km_panels",
    "n_at_risk",
    "thin_steps",
    "censor_mark_indices",
    "nice_tick_interval",
]

CURVE_FIELDS = ("time", "n_risk", "n_event", "n_censor", "survival", "lower", "upper")

#: Axes labels, so that tests and later styling steps can find each part.
CURVES_AXES = "km-curves"
RISK_AXES = "km-risk-table"

#: Tick intervals that read naturally for each time unit (smallest first).
_UNIT_INTERVALS: dict[str, tuple[float, ...]] = {
    "day": (1, 7, 14, 30, 60, 90, 180, 365, 730, 1095, 1825),
    "week": (1, 2, 4, 8, 13, 26, 52, 104, 156, 260),
    "month": (1, 2, 3, 6, 12, 24, 36, 48, 60, 120),
    "year": (0.25, 0.5, 1, 2, 3, 5, 10, 20),
}

_Y_TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)
_Y_TICK_LABELS = ("0.00", "0.25", "0.50", "0.75", "1.00")

#: Preferred corner (axes fraction) of the legend and of the annotation. Each goes
#: to the free spot nearest its corner (see ``_finish_layout``).
_LEGEND_CORNER = (1.0, 1.0)
_ANNOTATION_CORNER = (0.0, 0.0)
#: Candidate spots per axis direction when searching a free place for a box.
_GRID_X, _GRID_Y = 9, 13
#: Gap (points) between a box and the axes frame.
_BOX_INSET_PT = 4.0
#: Padding (fraction of the font size) of the annotation's white background.
_NOTE_PAD = 0.3
#: Placement cost of a box crossing one curve line (a CI band costs 1).
_CURVE_COST = 4.0

#: Row height of the risk table, in font sizes.
_ROW_EM = 1.45
#: Extra height of each further line of a wrapped label, in rows.
_EXTRA_LINE_ROWS = 0.85
#: Extra space (rows) around a group whose label is wrapped onto several lines.
_WRAPPED_ROW_PAD = 0.3
#: At most this many tick intervals on the x axis (more crowds the risk table).
_MAX_INTERVALS = 10


@dataclass(frozen=True)
class CurveInput:
    """One group's KM step table and the label shown in the legend and risk table."""

    label: str
    curve: Any


# ---------------------------------------------------------------------------
# Pure helpers (arrays in, arrays out)
# ---------------------------------------------------------------------------


def n_at_risk(curve: Any, times: Sequence[float] | np.ndarray) -> np.ndarray:
    """Number at risk at each of ``times``: the number with follow-up time >= t.

    That is ``n_risk`` of the first row with ``time >= t`` (at t = 0, the group's
    n), and 0 once t is past the last observed time.
    """
    time = np.asarray(curve.time, dtype=float)
    n_risk = np.asarray(curve.n_risk)
    t = np.asarray(times, dtype=float)
    if time.size == 0:
        return np.zeros(t.shape, dtype=n_risk.dtype)
    idx = np.searchsorted(time, t, side="left")
    inside = idx < time.size
    return np.where(inside, n_risk[np.minimum(idx, time.size - 1)], 0).astype(n_risk.dtype)


def thin_steps(
    time: np.ndarray,
    survival: np.ndarray,
    *,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    min_dx: float = 0.0,
    max_points: int = 2000,
) -> np.ndarray:
    """Indices of the step points worth drawing; the others do not change the drawing.

    Two rules, both keeping the first and the last point:

    1. A row whose survival (and CI, when given) equals the previous row's adds
       nothing to a post-step drawing (a censoring-only time), so it is dropped.
    2. The time axis is cut into bins of width ``max(min_dx, span / (max_points - 2))``
       (``min_dx``: half a pixel at the export size); only the last point of each
       bin is kept, so the staircase inside a bin becomes one drop at the bin's
       last time. Every kept point is an original (time, survival) pair, and for
       every original row i with bin width w:
       ``S_thin(t_i + w) <= S(t_i) <= S_thin(t_i)``.

    At most ``max_points`` indices are returned, ascending.
    """
    t = np.asarray(time, dtype=float)
    s = np.asarray(survival, dtype=float)
    n = t.size
    if n <= 2:
        return np.arange(n)
    changed = np.empty(n, dtype=bool)
    changed[0] = True
    changed[1:] = ~_same(s[1:], s[:-1])
    for band in (lower, upper):
        if band is not None:
            b = np.asarray(band, dtype=float)
            changed[1:] |= ~_same(b[1:], b[:-1])
    changed[-1] = True
    idx = np.flatnonzero(changed)
    span = t[-1] - t[0]
    width = max(float(min_dx), span / max(max_points - 2, 1))
    if idx.size <= 2 or width <= 0.0 or not math.isfinite(width):
        return idx
    bins = np.floor((t[idx] - t[0]) / width)
    last_in_bin = np.empty(idx.size, dtype=bool)
    last_in_bin[:-1] = bins[1:] != bins[:-1]
    last_in_bin[-1] = True
    last_in_bin[0] = True
    return idx[last_in_bin]


def censor_mark_indices(time: np.ndarray, n_censor: np.ndarray, *, x_max: float, max_marks: int = 200) -> np.ndarray:
    """Indices of the censoring times to mark on a curve (times up to ``x_max``).

    All of them when there are at most ``max_marks``. Otherwise the x range
    [0, x_max] is cut into ``max_marks`` equal bins and the first censoring time
    in each bin that has one is marked: every stretch of the axis where patients
    were censored still shows a mark, while thousands of overlapping marks (which
    no reader can count) are not drawn.
    """
    t = np.asarray(time, dtype=float)
    idx = np.flatnonzero((np.asarray(n_censor) > 0) & (t <= x_max))
    if idx.size <= max_marks:
        return idx
    if max_marks <= 0 or x_max <= 0:
        return idx[:0]
    bins = np.minimum(np.floor(t[idx] / x_max * max_marks), max_marks - 1)
    first_in_bin = np.empty(idx.size, dtype=bool)
    first_in_bin[0] = True
    first_in_bin[1:] = bins[1:] != bins[:-1]
    return idx[first_in_bin]


def nice_tick_interval(x_max: float, time_unit: str, *, max_intervals: int = 10, min_intervals: int = 3) -> float:
    """A readable x tick interval for an axis from 0 to ``x_max`` in ``time_unit``.

    Unit-specific intervals come first (months: 1, 2, 3, 6, 12, ...; years: 0.5,
    1, 2, 5, ...), then 1-2-5 x 10^k. The smallest interval giving between
    ``min_intervals`` and ``max_intervals`` intervals wins; if none does, the
    smallest giving at most ``max_intervals``.
    """
    if not (x_max > 0 and math.isfinite(x_max)):
        raise ValueError(f"x_max must be a positive number, got {x_max!r}")
    max_intervals = max(1, max_intervals)
    unit = time_unit.strip().lower().rstrip("s")
    exp = math.floor(math.log10(x_max))
    generic = sorted(m * 10.0**e for e in range(exp - 2, exp + 2) for m in (1, 2, 5))

    def count(step: float) -> int:
        return math.ceil(x_max / step - 1e-9)

    for candidates in (_UNIT_INTERVALS.get(unit, ()), generic):
        fits = [c for c in candidates if min_intervals <= count(c) <= max_intervals]
        if fits:
            return float(fits[0])
    return float(next(c for c in generic if count(c) <= max_intervals))


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise equality where NaN equals NaN."""
    return (a == b) | (np.isnan(a) & np.isnan(b))


def _step_at(time: np.ndarray, values: np.ndarray, x: np.ndarray, before: float) -> np.ndarray:
    """Value of the right-continuous step function (time, values) at x; ``before`` before it."""
    if time.size == 0:
        return np.full(np.shape(x), before, dtype=float)
    i = np.searchsorted(time, x, side="right") - 1
    return np.where(i >= 0, values[np.maximum(i, 0)], before)


def _count_text(v: float) -> str:
    """A count as the risk table shows it (whole numbers without decimals)."""
    v = float(v)
    if not math.isfinite(v):
        return ""
    return f"{v:.0f}" if v == round(v) else f"{v:.1f}"


# ---------------------------------------------------------------------------
# Input checks and per-curve drawing data
# ---------------------------------------------------------------------------


def _curve_arrays(item: CurveInput) -> dict[str, np.ndarray]:
    """The curve's arrays, checked: every field present, same length, times ascending."""
    missing = [f for f in CURVE_FIELDS if not hasattr(item.curve, f)]
    if missing:
        raise ValueError(f"curve {item.label!r} lacks the field(s) {', '.join(missing)}")
    arrays = {f: np.asarray(getattr(item.curve, f)) for f in CURVE_FIELDS}
    lengths = {f: a.shape for f, a in arrays.items()}
    if len({a.ndim for a in arrays.values()}) != 1 or len(set(lengths.values())) != 1:
        raise ValueError(f"curve {item.label!r}: fields differ in length: {lengths}")
    t = arrays["time"].astype(float)
    if t.size and (np.any(np.diff(t) <= 0) or not np.all(np.isfinite(t))):
        raise ValueError(f"curve {item.label!r}: time must be finite and strictly ascending")
    return arrays


@dataclass(frozen=True)
class _Drawn:
    """What is drawn for one curve (thinned, truncated at the axis end)."""

    label: str
    colour: str
    x: np.ndarray
    y: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    censor_x: np.ndarray
    censor_y: np.ndarray
    end: float


def _prepare(
    arrays: dict[str, np.ndarray],
    label: str,
    colour: str,
    *,
    x_hi: float,
    min_dx: float,
    style: FigureStyle,
) -> _Drawn:
    t = arrays["time"].astype(float)
    s = arrays["survival"].astype(float)
    lo = arrays["lower"].astype(float)
    hi = arrays["upper"].astype(float)
    shown = int(np.searchsorted(t, x_hi, side="right"))
    truncated = shown < t.size
    keep = thin_steps(
        t[:shown], s[:shown], lower=lo[:shown], upper=hi[:shown], min_dx=min_dx,
        max_points=style.max_points,
    )  # fmt: skip
    x = np.concatenate(([0.0], t[keep]))
    y = np.concatenate(([1.0], s[keep]))
    ylo = np.concatenate(([1.0], lo[keep]))
    yhi = np.concatenate(([1.0], hi[keep]))
    if truncated:
        x = np.append(x, x_hi)
        y, ylo, yhi = np.append(y, y[-1]), np.append(ylo, ylo[-1]), np.append(yhi, yhi[-1])
    marks = censor_mark_indices(t, arrays["n_censor"], x_max=x_hi, max_marks=style.max_censor_marks)
    return _Drawn(label, colour, x, y, ylo, yhi, t[marks], s[marks], float(x[-1]))


# ---------------------------------------------------------------------------
# Text measurement and layout
# ---------------------------------------------------------------------------


class _Measure:
    """Text widths in points for one font family (matplotlib's own font metrics)."""

    def __init__(self, family: str) -> None:
        self._ttp = TextToPath()
        self._family = family

    def width(self, text: str, size: float, weight: str = "normal") -> float:
        prop = FontProperties(family=self._family, size=size, weight=weight)
        return max(
            (self._ttp.get_text_width_height_descent(line, prop, ismath=False)[0] for line in
             text.split("\n")),
            default=0.0,
        )  # fmt: skip

    def wrap(self, text: str, max_pt: float, size: float) -> str:
        """``text`` broken at spaces into the fewest, most even lines no wider than ``max_pt``.

        Words are never split: a word wider than ``max_pt`` keeps a line of its own.
        """
        if self.width(text, size) <= max_pt:
            return text
        paragraphs = text.split("\n")
        best: tuple[int, float, list[str]] | None = None
        for chars in range(max(len(p) for p in paragraphs), 0, -1):
            lines = [ln for p in paragraphs for ln in (textwrap.wrap(p, chars, break_long_words=False) or [""])]
            widths = [self.width(ln, size) for ln in lines]
            if not all(w <= max_pt or " " not in ln.strip() for w, ln in zip(widths, lines, strict=True)):
                continue
            if best is not None and len(lines) > best[0]:
                break
            if best is None or max(widths) < best[1]:
                best = (len(lines), max(widths), lines)
        return "\n".join(best[2]) if best else text


@dataclass(frozen=True)
class _Panel:
    title: str | None
    items: list[tuple[CurveInput, dict[str, np.ndarray]]]
    annotation: str | None


def _check_panels(
    panels: Sequence[tuple[str | None, Sequence[CurveInput]]],
    annotations: Sequence[str | None],
) -> list[_Panel]:
    if not panels:
        raise ValueError("a KM figure needs at least one panel")
    if len(annotations) != len(panels):
        raise ValueError(f"got {len(annotations)} annotations for {len(panels)} panels; give one per panel")
    out = []
    for (title, curves), annotation in zip(panels, annotations, strict=True):
        if not curves:
            raise ValueError(f"panel {title!r} has no curves")
        items = [(c, _curve_arrays(c)) for c in curves]
        out.append(_Panel(title, items, annotation))
    return out


def km_figure(
    curves: Sequence[CurveInput],
    *,
    time_unit: str,
    xlabel: str | None = None,
    ylabel: str = "Survival probability",
    annotation: str | None = None,
    show_ci: bool = True,
    risk_table: bool = True,
    break_time: float | None = None,
    xmax: float | None = None,
    style: FigureStyle = FigureStyle(),  # noqa: B008 - frozen, immutable default
) -> Figure:
    """One KM panel (all groups) with its numbers-at-risk table below.

    ``annotation`` is shown as given (e.g. "Log-rank p = 0.032"), in the lower
    left unless curves pass there; ``break_time`` forces the x tick interval;
    ``xmax`` ends the x axis (default: the last observed time, rounded up to a tick).
    """
    return _build(
        [(None, curves)],
        annotations=[annotation],
        time_unit=time_unit,
        xlabel=xlabel,
        ylabel=ylabel,
        show_ci=show_ci,
        risk_table=risk_table,
        break_time=break_time,
        xmax=xmax,
        style=style,
    )


def km_panels(
    panels: Sequence[tuple[str, Sequence[CurveInput]]],
    *,
    time_unit: str,
    xlabel: str | None = None,
    ylabel: str = "Survival probability",
    annotations: Sequence[str | None] | None = None,
    show_ci: bool = True,
    risk_table: bool = True,
    break_time: float | None = None,
    xmax: float | None = None,
    style: FigureStyle = FigureStyle(),  # noqa: B008 - frozen, immutable default
) -> Figure:
    """Side-by-side KM panels, each (title, curves) with its own risk table.

    Panels share the y axis and the x range. When every panel lists the same
    group labels in the same order, the risk-table row labels are shown once,
    at the left of the first panel, the rows line up across panels, and the
    legend is drawn in the first panel only (colours follow the group label).
    ``annotations`` holds one text (or None) per panel.
    """
    notes = list(annotations) if annotations is not None else [None] * len(panels)
    return _build(
        panels,
        annotations=notes,
        time_unit=time_unit,
        xlabel=xlabel,
        ylabel=ylabel,
        show_ci=show_ci,
        risk_table=risk_table,
        break_time=break_time,
        xmax=xmax,
        style=style,
    )


def _build(
    panels_in: Sequence[tuple[str | None, Sequence[CurveInput]]],
    *,
    annotations: Sequence[str | None],
    time_unit: str,
    xlabel: str | None,
    ylabel: str,
    show_ci: bool,
    risk_table: bool,
    break_time: float | None,
    xmax: float | None,
    style: FigureStyle,
) -> Figure:
    panels = _check_panels(panels_in, annotations)
    if break_time is not None and not break_time > 0:
        raise ValueError(f"break_time must be positive, got {break_time!r}")
    if xmax is not None and not xmax > 0:
        raise ValueError(f"xmax must be positive, got {xmax!r}")
    with matplotlib.style.context(["default", style.rc()]):
        return _draw(
            panels,
            time_unit=time_unit,
            xlabel=xlabel if xlabel is not None else f"Time ({time_unit})",
            ylabel=ylabel,
            show_ci=show_ci,
            risk_table=risk_table,
            break_time=break_time,
            xmax=xmax,
            style=style,
        )


def _draw(
    panels: list[_Panel],
    *,
    time_unit: str,
    xlabel: str,
    ylabel: str,
    show_ci: bool,
    risk_table: bool,
    break_time: float | None,
    xmax: float | None,
    style: FigureStyle,
) -> Figure:
    fs = style.font_size_pt
    family = style.font_family
    measure = _Measure(family)
    n_panels = len(panels)
    fig_w_pt = style.width_in * 72.0
    pad_pt = 3.0  # constrained-layout padding around each axes

    # Colours follow the group label, so one group keeps its colour in every panel.
    colours: dict[str, str] = {}
    for panel in panels:
        for item, _ in panel.items:
            colours.setdefault(item.label, style.colour(len(colours)))

    # When all panels list the same groups, the legend and the risk-table row
    # labels are shown once (first panel) and the rows line up across panels.
    label_lists = [[item.label for item, _ in p.items] for p in panels]
    shared = all(labels == label_lists[0] for labels in label_lists)
    row_label_max_pt = 0.25 * fig_w_pt if shared else 0.3 * fig_w_pt / n_panels
    heading = "Number at risk"
    wrapped = [[measure.wrap(lbl, row_label_max_pt, fs) for lbl in labels] for labels in label_lists]
    row_labels = [w if (j == 0 or not shared) else None for j, w in enumerate(wrapped)]
    widest_n = max(
        (float(np.max(a["n_risk"][:1], initial=0)) for p in panels for _, a in p.items),
        default=0.0,
    )
    number_pt = measure.width(_count_text(widest_n), fs)
    label_col_pt = 0.0
    if risk_table:
        label_col_pt = max(
            [measure.width(heading, fs, "bold")]
            + [measure.width(lbl, fs) for labels in row_labels if labels for lbl in labels]
        )
    label_pad_pt = label_col_pt + 0.5 * number_pt + 0.75 * fs

    # x axis: one range for all panels, ticks at a readable interval.
    last_time = max(
        (float(a["time"][-1]) for p in panels for _, a in p.items if a["time"].size),
        default=1.0,
    )
    span = float(xmax) if xmax is not None else max(last_time, 1e-12)
    # Widest text centred on a tick: a number at risk or a tick label.
    tick_text_pt = max(number_pt if risk_table else 0.0, measure.width(f"{span:.10g}", fs))
    left_pt = max(measure.width("0.00", fs) + 2.2 * fs + 8.0, label_pad_pt if risk_table else 0.0)
    gap_pt = tick_text_pt + 2.0 * fs  # between panels: a tick's text never meets the next one's
    right_pt = 0.5 * tick_text_pt + 2 * pad_pt
    axes_w_pt = (fig_w_pt - left_pt - right_pt - gap_pt * (n_panels - 1)) / n_panels
    if break_time is not None:
        interval = float(break_time)
    else:
        fits = int(axes_w_pt // (tick_text_pt + 1.5 * fs))
        interval = nice_tick_interval(span, time_unit, max_intervals=min(_MAX_INTERVALS, fits))
    x_hi = float(xmax) if xmax is not None else interval * math.ceil(span / interval - 1e-9)
    ticks = interval * np.arange(int(math.floor(x_hi / interval + 1e-9)) + 1)
    tick_labels = [f"{v:.10g}" for v in ticks]

    # Heights: the curve area, then one row per group (wrapped labels take more).
    plot_h_in = style.width_in * style.height_ratio / math.sqrt(n_panels)
    row_units = [[_row_units(lbl) for lbl in labels] for labels in wrapped]
    if shared:
        row_units = [row_units[0]] * n_panels
    risk_units = 1.0 + max(sum(u) for u in row_units)
    risk_h_in = risk_units * _ROW_EM * fs / 72.0 if risk_table else 0.0
    title_pt = 1.5 * fs if any(p.title for p in panels) else 0.0
    decor_pt = 4 * pad_pt + title_pt + (3.0 + 2.5 + 1.2 * fs) + 1.2 * fs + 0.5 * fs
    fig_h_in = plot_h_in + risk_h_in + decor_pt / 72.0

    fig = Figure(figsize=(style.width_in, fig_h_in), dpi=style.dpi, layout="constrained")
    fig.get_layout_engine().set(
        w_pad=pad_pt / 72,
        h_pad=pad_pt / 72,
        # wspace: the figure fraction shared by all gaps between panels.
        wspace=max(gap_pt - 2 * pad_pt, 0.0) * (n_panels - 1) / fig_w_pt,
        hspace=0.0,
    )
    fig.patch.set_facecolor("white")
    grid = fig.add_gridspec(
        2 if risk_table else 1,
        n_panels,
        height_ratios=[plot_h_in, risk_h_in] if risk_table else None,
    )

    pixel_x = x_hi / max(axes_w_pt / 72.0 * style.dpi, 1.0)
    first: Axes | None = None
    drawn_panels: list[tuple[Axes, list[_Drawn], Legend | None, Annotation | None]] = []
    for j, panel in enumerate(panels):
        ax = fig.add_subplot(grid[0, j], sharex=first, sharey=first)
        ax.set_label(CURVES_AXES)
        first = first or ax
        drawn = [
            _prepare(
                arrays, item.label, colours[item.label], x_hi=x_hi, min_dx=0.5 * pixel_x,
                style=style,
            )
            for item, arrays in panel.items
        ]  # fmt: skip
        _curves(ax, drawn, show_ci=show_ci, style=style)
        _axes_frame(ax, ticks, tick_labels, x_hi, style=style, y_labels=j == 0)
        ax.set_xlabel(xlabel, fontsize=fs, fontfamily=family)
        if j == 0:
            ax.set_ylabel(ylabel, fontsize=fs, fontfamily=family)
        if panel.title:
            ax.set_title(panel.title, loc="left", fontsize=fs, fontweight="bold", fontfamily=family)
        legend = None
        if j == 0 or not shared:
            legend = _legend(ax, drawn, measure, max_pt=0.6 * axes_w_pt, style=style)
        note = _annotation(ax, panel.annotation, style=style) if panel.annotation else None
        drawn_panels.append((ax, drawn, legend, note))
        if risk_table:
            rax = fig.add_subplot(grid[1, j], sharex=first)
            _risk_table(
                rax,
                panel,
                [colours[item.label] for item, _ in panel.items],
                row_labels[j],
                row_units[j],
                heading,
                ticks,
                risk_units,
                label_pad_pt=label_pad_pt,
                style=style,
            )

    _finish_layout(fig, drawn_panels, [p.title for p in panels], colours, measure, style=style)
    return fig


def _row_units(label: str) -> float:
    """Height of a risk-table row, in rows: more for a label wrapped onto several lines."""
    extra = label.count("\n")
    return 1.0 + extra * _EXTRA_LINE_ROWS + (_WRAPPED_ROW_PAD if extra else 0.0)


# ---------------------------------------------------------------------------
# Drawing parts
# ---------------------------------------------------------------------------


def _curves(ax: Axes, drawn: list[_Drawn], *, show_ci: bool, style: FigureStyle) -> None:
    for z, d in enumerate(drawn):
        if show_ci:
            ax.fill_between(
                d.x, d.lo, d.hi, step="post", color=d.colour, alpha=style.ci_alpha,
                linewidth=0.0, clip_on=False, zorder=1 + z * 0.01,
            )  # fmt: skip
        ax.plot(
            d.x, d.y, drawstyle="steps-post", color=d.colour, linewidth=style.line_width_pt,
            solid_joinstyle="miter", clip_on=False, zorder=2 + z * 0.01, label=d.label,
        )  # fmt: skip
        if d.censor_x.size:
            ax.plot(
                d.censor_x, d.censor_y, linestyle="none", marker=style.censor_marker,
                markersize=style.censor_marker_size_pt, markeredgewidth=style.line_width_pt * 0.8,
                color=d.colour, clip_on=False, zorder=3 + z * 0.01,
            )  # fmt: skip


def _axes_frame(
    ax: Axes,
    ticks: np.ndarray,
    tick_labels: list[str],
    x_hi: float,
    *,
    style: FigureStyle,
    y_labels: bool,
) -> None:
    fs = style.font_size_pt
    ax.set_xlim(0.0, x_hi)
    ax.set_ylim(0.0, 1.0)
    ax.set_xticks(ticks, tick_labels)
    ax.set_yticks(_Y_TICKS, _Y_TICK_LABELS)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_linewidth(style.axis_line_width_pt)
    ax.tick_params(
        axis="both", which="major", direction="out", length=3.0, width=style.axis_line_width_pt,
        pad=2.5, labelsize=fs, labelfontfamily=style.font_family, color="black",
        labelcolor="black",
    )  # fmt: skip
    ax.tick_params(axis="y", labelleft=y_labels)
    ax.set_facecolor("none")


def _legend(ax: Axes, drawn: list[_Drawn], measure: _Measure, *, max_pt: float, style: FigureStyle) -> Legend:
    """Group labels with their line colours; ``_finish_layout`` moves it once the layout is known."""
    fs = style.font_size_pt
    handles = [Line2D([], [], color=d.colour, linewidth=style.line_width_pt * 1.5) for d in drawn]
    labels = [measure.wrap(d.label, max_pt - 3.0 * fs, fs) for d in drawn]
    return ax.legend(
        handles, labels, loc="upper right", frameon=False, borderaxespad=0.5,
        handlelength=1.8, handletextpad=0.6, labelspacing=0.4, borderpad=0.3,
        prop=FontProperties(family=style.font_family, size=fs),
    )  # fmt: skip


def _annotation(ax: Axes, text: str, *, style: FigureStyle) -> Annotation:
    """The annotation in a white box; ``_finish_layout`` moves it once the layout is known."""
    pad = _NOTE_PAD * style.font_size_pt
    return ax.annotate(
        text, xy=(0.0, 0.0), xycoords="axes fraction", xytext=(pad, pad),
        textcoords="offset points", ha="left", va="bottom", fontsize=style.font_size_pt,
        fontfamily=style.font_family, linespacing=1.3, zorder=5,
        bbox={"boxstyle": f"square,pad={_NOTE_PAD}", "facecolor": "white", "edgecolor": "none"},
    )  # fmt: skip


def _risk_table(
    rax: Axes,
    panel: _Panel,
    colours: list[str],
    labels: list[str] | None,
    units: list[float],
    heading: str,
    ticks: np.ndarray,
    total_units: float,
    *,
    label_pad_pt: float,
    style: FigureStyle,
) -> None:
    """Rows of numbers at risk at the x ticks, in each group's colour (y unit: one row)."""
    fs = style.font_size_pt
    rax.set_label(RISK_AXES)
    centres = 1.0 + np.cumsum(units) - 0.5 * np.asarray(units)
    rax.set_ylim(total_units, 0.0)
    for spine in rax.spines.values():
        spine.set_visible(False)
    rax.set_facecolor("none")
    rax.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
    rax.tick_params(axis="y", which="both", left=False, length=0.0)
    if labels is not None:
        rax.set_yticks(
            [0.5, *centres], [heading, *labels], ha="left", va="center", fontsize=fs,
            fontfamily=style.font_family, linespacing=1.2,
        )  # fmt: skip
        rax.tick_params(axis="y", pad=label_pad_pt)
        texts = rax.get_yticklabels()
        texts[0].set_fontweight("bold")
        texts[0].set_color("black")
        for text, colour in zip(texts[1:], colours, strict=True):
            text.set_color(colour)
    else:
        rax.set_yticks([])
        rax.tick_params(axis="y", labelleft=False)
    for (_item, arrays), centre, colour in zip(panel.items, centres, colours, strict=True):
        counts = n_at_risk(_NamedArrays(arrays), ticks)
        for x, n in zip(ticks, counts, strict=True):
            rax.text(
                float(x), float(centre), _count_text(n), ha="center", va="center", color=colour,
                fontsize=fs, fontfamily=style.font_family, clip_on=False,
            )  # fmt: skip


class _NamedArrays:
    """Attribute access to a checked curve's arrays (what ``n_at_risk`` reads)."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.time = arrays["time"]
        self.n_risk = arrays["n_risk"]


# ---------------------------------------------------------------------------
# Legend and annotation placement
# ---------------------------------------------------------------------------


def _finish_layout(
    fig: Figure,
    parts: list[tuple[Axes, list[_Drawn], Legend | None, Annotation | None]],
    titles: list[str | None],
    colours: dict[str, str],
    measure: _Measure,
    *,
    style: FigureStyle,
) -> None:
    """Lay the figure out, put legends and annotations where they hide no curve, and freeze.

    Inside a panel, the legend (then the annotation) takes the curve-free spot
    nearest its preferred corner (``_free_spot``). A legend that finds no such
    spot becomes one legend above the panels; an annotation that finds none goes
    above its panel on the right when it fits beside the panel title, and
    otherwise stays inside without a background (so that it hides nothing). The
    figure grows by the height these take, so the curve area keeps its size.
    The layout is then frozen, so every export draws the same positions.
    """
    fs = style.font_size_pt
    px = style.dpi / 72.0
    fig.draw_without_rendering()

    legend_costs = [_legend_spot(ax, drawn, leg)[1] for ax, drawn, leg, _ in parts if leg]
    if any(cost >= _CURVE_COST for cost in legend_costs):
        for _, _, leg, _ in parts:
            if leg is not None:
                leg.remove()
        parts = [(ax, drawn, None, note) for ax, drawn, _, note in parts]
        above = _figure_legend(fig, colours, measure, style=style)
        _grow(fig, above.get_window_extent().height / px + fs)
        fig.draw_without_rendering()

    extra_pt = 0.0
    for j, (ax, drawn, leg, note) in enumerate(parts):
        if note is None:
            continue
        taken = [_legend_spot(ax, drawn, leg)[0].padded(_BOX_INSET_PT * px)] if leg else []
        if _note_spot(ax, drawn, note, taken, style=style)[1] < _CURVE_COST:
            continue
        text = note.get_text()
        title_pt = measure.width(titles[j], fs, "bold") if titles[j] else 0.0
        if title_pt + measure.width(text, fs) + 1.5 * fs <= ax.get_window_extent().width / px:
            note.remove()
            parts[j] = (ax, drawn, leg, None)
            ax.set_title(text, loc="right", fontsize=fs, fontfamily=style.font_family)
            n_lines = text.count("\n") + 1
            extra_pt = max(extra_pt, n_lines * 1.25 * fs + 3.0 - (1.5 * fs if any(titles) else 0))
    if extra_pt > 0:
        _grow(fig, extra_pt)
        fig.draw_without_rendering()

    for ax, drawn, leg, note in parts:
        taken: list[Bbox] = []
        if leg is not None:
            box, _ = _legend_spot(ax, drawn, leg)
            leg.borderaxespad = 0.0
            leg.set_bbox_to_anchor(tuple(ax.transAxes.inverted().transform(box.p0)), ax.transAxes)
            leg.set_loc("lower left")
            taken.append(box.padded(_BOX_INSET_PT * px))
        if note is not None:
            box, cost = _note_spot(ax, drawn, note, taken, style=style)
            note.xy = tuple(ax.transAxes.inverted().transform(box.p0))
            pad_pt = _NOTE_PAD * fs
            note.xyann = (pad_pt, pad_pt)
            note.set_horizontalalignment("left")
            note.set_verticalalignment("bottom")
            patch = note.get_bbox_patch()
            if patch is not None and cost >= _CURVE_COST:
                patch.set_facecolor("none")
            elif patch is not None and cost > 0:
                patch.set_alpha(0.6)  # over a CI band only: let the band show through
    fig.set_layout_engine("none")


def _grow(fig: Figure, extra_pt: float) -> None:
    """Make the figure taller by ``extra_pt`` points (keeps the width)."""
    w, h = fig.get_size_inches()
    fig.set_size_inches(w, h + extra_pt / 72.0)


def _figure_legend(fig: Figure, colours: dict[str, str], measure: _Measure, *, style: FigureStyle) -> Legend:
    """One legend for all groups, centred above the panels, one column per group."""
    fs = style.font_size_pt
    n = len(colours)
    per_item_pt = 0.95 * style.width_in * 72.0 / n - 3.5 * fs
    handles = [Line2D([], [], color=c, linewidth=style.line_width_pt * 1.5) for c in colours.values()]
    labels = [measure.wrap(label, per_item_pt, fs) for label in colours]
    return fig.legend(
        handles, labels, loc="outside upper center", ncols=n, frameon=False,
        handlelength=1.8, handletextpad=0.6, columnspacing=1.5, borderpad=0.2,
        prop=FontProperties(family=style.font_family, size=fs),
    )  # fmt: skip


def _legend_spot(ax: Axes, drawn: list[_Drawn], legend: Legend) -> tuple[Bbox, float]:
    size = legend.get_window_extent()
    return _free_spot(ax, drawn, size.width, size.height, _LEGEND_CORNER, [])


def _note_spot(
    ax: Axes, drawn: list[_Drawn], note: Annotation, taken: list[Bbox], *, style: FigureStyle
) -> tuple[Bbox, float]:
    pad = 2 * _NOTE_PAD * style.font_size_pt * style.dpi / 72.0
    text = note.get_window_extent()
    return _free_spot(ax, drawn, text.width + pad, text.height + pad, _ANNOTATION_CORNER, taken)


def _free_spot(
    ax: Axes,
    drawn: list[_Drawn],
    w: float,
    h: float,
    corner: tuple[float, float],
    taken: list[Bbox],
) -> tuple[Bbox, float]:
    """The cheapest (w x h) display-space box inside the axes, and its cost.

    Candidate spots form a grid inside the axes. A spot costs ``_CURVE_COST`` per
    curve and 1 per CI band its box crosses, and 100 if it overlaps a box in
    ``taken``; the cheapest wins, the one nearest ``corner`` (axes fraction) on ties.
    """
    frame = ax.get_window_extent()
    px = ax.get_figure(root=True).dpi / 72.0
    inset = _BOX_INSET_PT * px
    xs = np.linspace(frame.x0 + inset, max(frame.x1 - inset - w, frame.x0 + inset), _GRID_X)
    ys = np.linspace(frame.y0 + inset, max(frame.y1 - inset - h, frame.y0 + inset), _GRID_Y)
    to_data = ax.transData.inverted()
    margin = 2.0 * px  # keep 2 pt between a box and any curve
    best: tuple[float, float, Bbox] | None = None
    for i, x0 in enumerate(xs):
        for k, y0 in enumerate(ys):
            box = Bbox.from_bounds(x0, y0, w, h)
            distance = math.hypot(i / (_GRID_X - 1) - corner[0], k / (_GRID_Y - 1) - corner[1])
            cost = sum(100.0 for t in taken if t.overlaps(box))
            (dx0, dy0), (dx1, dy1) = to_data.transform([[x0 - margin, y0 - margin], [x0 + w + margin, y0 + h + margin]])
            for d in drawn:
                cost += _CURVE_COST * _crosses(d.x, d.y, d.y, d.end, dx0, dx1, dy0, dy1)
                cost += 1.0 * _crosses(d.x, d.lo, d.hi, d.end, dx0, dx1, dy0, dy1)
            if best is None or (cost, distance) < (best[0], best[1]):
                best = (cost, distance, box)
    assert best is not None
    return best[2], best[0]


def _crosses(
    x: np.ndarray, lo: np.ndarray, hi: np.ndarray, end: float,
    x0: float, x1: float, y0: float, y1: float,
) -> bool:  # fmt: skip
    """Whether the post-step band [lo, hi] drawn over [0, end] enters the box."""
    if x0 > end:
        return False
    inside = (x > x0) & (x <= min(x1, end))
    low = np.append(lo[inside], _step_at(x, lo, np.asarray(x0), before=1.0))
    high = np.append(hi[inside], _step_at(x, hi, np.asarray(x0), before=1.0))
    low, high = low[~np.isnan(low)], high[~np.isnan(high)]
    if low.size == 0 or high.size == 0:
        return False
    band_lo, band_hi = float(low.min()), float(high.max())
    return bool(band_lo <= y1 and band_hi >= y0)
