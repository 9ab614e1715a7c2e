"""Participant flow diagrams: counts at each selection step in; a CONSORT/STROBE-style Figure out.

Input: the number of patients assessed, the exclusion steps in order as
(reason, number excluded), and the analysed groups as (label, n). Output: boxes
joined by arrows, top to bottom:

    [Patients assessed for eligibility (n = 92)]
            |------> [Excluded (n = 18)
            |           • reason (n = 6) ...]
            v
    [Included in the analysis (n = 74)]
       ____|____
      v         v
    [CIT (n = 44)] [CT (n = 30)]

One exclusion box lists every reason (none when there are no steps). Text is
wrapped with ``textwrap`` at the longest line length (in characters) whose lines
the renderer measures to fit the room for the box, in balanced lines, and every
box is then sized to its text; a count is never split from the word before it.
The only numbers formatted here are the counts, as "n = 92". Labels arrive in
the caller's words.
Matplotlib's object API only; fonts, sizes and colours come from ``FigureStyle``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.style
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Rectangle

from reportgen.figures.forest import TextRuler
from reportgen.figures.style import FigureStyle

__all__ = ["flow_figure", "count_text", "FLOW_AXES"]

#: Axes label, so that tests and later styling steps can find the diagram.
FLOW_AXES = "flow-diagram"
#: Box and text ids: "flow-box-<part>" and "flow-text-<part>", part one of
#: "assessed", "excluded", "included", "group-<i>".
BOX_GID = "flow-box-{}"
TEXT_GID = "flow-text-{}"

#: Figure margin, points.
_MARGIN_PT = 4.0
#: Padding inside a box (font sizes): horizontal, vertical.
_PAD_X_EM, _PAD_Y_EM = 0.7, 0.55
#: Main boxes are at most this fraction of the figure width.
_MAIN_MAX = 0.42
#: The exclusion box is at most this fraction of the figure width.
_EXCLUDED_MAX = 0.55
#: Horizontal arrow from the main line to the exclusion box (font sizes), and the
#: gap between neighbouring group boxes (font sizes).
_BRANCH_EM, _GROUP_GAP_EM = 5.0, 1.5
#: Vertical gaps (font sizes): between boxes and the exclusion box, and below the split.
_VGAP_EM, _SPLIT_EM = 1.4, 1.6
#: Space between two bullet items (font sizes).
_ITEM_GAP_EM = 0.4
_BULLET = "\u2022"
_NBSP = "\u00a0"


def count_text(n: int) -> str:
    """A count as the diagram shows it: "n = 92"."""
    return f"n = {n:d}"


def _with_count(label: str, n: int) -> str:
    """ "label (n = 92)", its last word and count glued by no-break spaces (never split by wrapping).

    The no-break spaces become plain spaces when the text is drawn.
    """
    glued = f"({count_text(n)})".replace(" ", _NBSP)
    return f"{label.rstrip()}{_NBSP}{glued}" if label.strip() else glued


@dataclass(frozen=True)
class _Box:
    """A box in diagram points (x right, y down from the top)."""

    part: str
    x0: float
    y0: float
    w: float
    h: float

    @property
    def xc(self) -> float:
        return self.x0 + 0.5 * self.w

    @property
    def y1(self) -> float:
        return self.y0 + self.h


def _check(n_assessed: int, steps: Sequence[tuple[str, int]], groups: Sequence[tuple[str, int]]) -> int:
    """The number included, after checking that the counts add up."""
    problems = []
    if int(n_assessed) != n_assessed or n_assessed < 0:
        problems.append(f"n_assessed must be a count >= 0, got {n_assessed!r}")
    for what, items in (("step", steps), ("group", groups)):
        for label, n in items:
            if int(n) != n or n < 0:
                problems.append(f"{what} {label!r}: the count must be an integer >= 0, got {n!r}")
    if problems:
        raise ValueError("; ".join(problems))
    excluded = sum(int(n) for _, n in steps)
    included = int(n_assessed) - excluded
    if included < 0:
        raise ValueError(f"the steps exclude {excluded} patients but only {n_assessed} were assessed")
    in_groups = sum(int(n) for _, n in groups)
    if groups and in_groups != included:
        raise ValueError(
            f"the groups hold {in_groups} patients but {n_assessed} assessed minus "
            f"{excluded} excluded leaves {included}; the counts must add up"
        )
    return included


def flow_figure(
    n_assessed: int,
    steps: Sequence[tuple[str, int]],
    groups: Sequence[tuple[str, int]],
    *,
    assessed_label: str = "Patients assessed for eligibility",
    included_label: str = "Included in the analysis",
    style: FigureStyle = FigureStyle(),  # noqa: B008 - frozen, immutable default
) -> Figure:
    """A participant flow diagram ``style.width_mm`` wide, as high as its boxes need.

    ``steps`` are (reason, number excluded) in the order applied; the number
    included is ``n_assessed`` minus their sum, and ``groups`` (label, n) must
    add up to it.
    """
    included = _check(n_assessed, steps, groups)
    with matplotlib.style.context(["default", style.rc()]):
        return _draw(
            int(n_assessed),
            [(str(r), int(n)) for r, n in steps],
            [(str(g), int(n)) for g, n in groups],
            included,
            assessed_label=assessed_label,
            included_label=included_label,
            style=style,
        )


def _draw(
    n_assessed: int,
    steps: list[tuple[str, int]],
    groups: list[tuple[str, int]],
    included: int,
    *,
    assessed_label: str,
    included_label: str,
    style: FigureStyle,
) -> Figure:
    fs = style.font_size_pt
    W = style.width_in * 72.0
    fig = Figure(figsize=(style.width_in, 1.0), dpi=style.dpi)
    fig.patch.set_facecolor("white")
    ruler = TextRuler(fig, style.font_family)
    pad_x, pad_y = _PAD_X_EM * fs, _PAD_Y_EM * fs
    usable = W - 2 * _MARGIN_PT

    def ext(text: str, weight: str = "normal") -> tuple[float, float]:
        return ruler.extent(text, fs, weight=weight)

    def wrap(text: str, max_pt: float, weight: str = "normal") -> str:
        return ruler.wrap(text, max_pt, fs, balanced=True, weight=weight)

    # Main column: both boxes share one width, sized to the wider text.
    main_texts = [
        _with_count(assessed_label, n_assessed),
        _with_count(included_label, included),
    ]
    main_text_max = _MAIN_MAX * W - 2 * pad_x
    main_texts = [wrap(t, main_text_max) for t in main_texts]
    main_w = max(ext(t)[0] for t in main_texts) + 2 * pad_x
    main_h = [ext(t)[1] + 2 * pad_y for t in main_texts]

    # Exclusion box: a bold heading and one bullet per reason.
    branch = _BRANCH_EM * fs
    excl_heading = f"Excluded ({count_text(n_assessed - included)})"
    bullet_w = ruler.width(_BULLET + " ", fs)
    items: list[str] = []
    excl_w = excl_h = 0.0
    if steps:
        room = min(usable - 0.5 * main_w - branch, _EXCLUDED_MAX * W) - 2 * pad_x
        reasons = [_with_count(reason, n) for reason, n in steps]
        # Balanced lines set the box width; then every item fills that width.
        items = [wrap(t, room - bullet_w) for t in reasons]
        text_w = max([ext(excl_heading, "bold")[0]] + [bullet_w + ext(t)[0] for t in items])
        items = [ruler.wrap(t, text_w - bullet_w, fs) for t in reasons]
        text_w = max([ext(excl_heading, "bold")[0]] + [bullet_w + ext(t)[0] for t in items])
        excl_w = text_w + 2 * pad_x
        excl_h = ext(excl_heading, "bold")[1] + sum(_ITEM_GAP_EM * fs + ext(t)[1] for t in items) + 2 * pad_y

    # Groups: equal boxes side by side, wrapped to share the width.
    gap = _GROUP_GAP_EM * fs
    k = len(groups)
    group_texts: list[str] = []
    group_w = group_h = 0.0
    if k:
        cell = (usable - (k - 1) * gap) / k
        group_texts = [wrap(_with_count(g, n), cell - 2 * pad_x) for g, n in groups]
        group_w = max(ext(t)[0] for t in group_texts) + 2 * pad_x
        group_h = max(ext(t)[1] for t in group_texts) + 2 * pad_y
    groups_span = k * group_w + (k - 1) * gap if k else 0.0

    # Horizontal placement: centre the widest part (main + exclusion, or the groups).
    if steps:
        left_part = 0.5 * main_w
        right_part = max(0.5 * main_w, branch + excl_w)
        xc = _MARGIN_PT + 0.5 * (usable - left_part - right_part) + left_part
    else:
        xc = 0.5 * W
    # Groups centred under the main line, shifted to stay inside the figure.
    g_left = min(max(xc - 0.5 * groups_span, _MARGIN_PT), W - _MARGIN_PT - groups_span)

    # Vertical placement (points from the top).
    vgap = _VGAP_EM * fs
    y = _MARGIN_PT
    boxes: list[_Box] = []
    texts: list[tuple[str, float, float, str, str, str]] = []  # part, x, y, text, ha, weight
    assessed = _Box("assessed", xc - 0.5 * main_w, y, main_w, main_h[0])
    boxes.append(assessed)
    y = assessed.y1
    excl: _Box | None = None
    if steps:
        excl = _Box("excluded", xc + branch, y + vgap, excl_w, excl_h)
        boxes.append(excl)
        y = excl.y1 + vgap
    else:
        y += 2.5 * vgap
    incl = _Box("included", xc - 0.5 * main_w, y, main_w, main_h[1])
    boxes.append(incl)
    y = incl.y1
    group_boxes: list[_Box] = []
    split_y = y + 0.5 * _SPLIT_EM * fs
    if k:
        top = y + (_SPLIT_EM * fs if k > 1 else 2.5 * vgap)
        for i in range(k):
            group_boxes.append(_Box(f"group-{i}", g_left + i * (group_w + gap), top, group_w, group_h))
        boxes.extend(group_boxes)
        y = top + group_h
    height = y + _MARGIN_PT

    # Texts inside the boxes.
    # Centred texts: boxes of one row share a height, so a shorter text is centred in it.
    for box, text in ((assessed, main_texts[0]), (incl, main_texts[1])):
        texts.append((box.part, box.xc, box.y0 + 0.5 * (box.h - ext(text)[1]), text, "center", "normal"))
    for box, text in zip(group_boxes, group_texts, strict=True):
        texts.append((box.part, box.xc, box.y0 + 0.5 * (box.h - ext(text)[1]), text, "center", "normal"))
    if excl is not None:
        ty = excl.y0 + pad_y
        texts.append(("excluded", excl.x0 + pad_x, ty, excl_heading, "left", "bold"))
        ty += ext(excl_heading, "bold")[1]
        for item in items:
            ty += _ITEM_GAP_EM * fs
            # As many (empty) lines as the item, so that both share the first baseline.
            bullet = _BULLET + "\n" * item.count("\n")
            texts.append(("excluded", excl.x0 + pad_x, ty, bullet, "left", "normal"))
            texts.append(("excluded", excl.x0 + pad_x + bullet_w, ty, item, "left", "normal"))
            ty += ext(item)[1]

    fig.set_size_inches(style.width_in, height / 72.0)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_label(FLOW_AXES)
    ax.set_xlim(0.0, W)
    ax.set_ylim(height, 0.0)
    ax.set_axis_off()

    lw = style.axis_line_width_pt
    for box in boxes:
        ax.add_patch(
            Rectangle(
                (box.x0, box.y0), box.w, box.h, facecolor="white", edgecolor="black",
                linewidth=lw, gid=BOX_GID.format(box.part), zorder=2,
            )
        )  # fmt: skip
    for part, x, ty, text, ha, weight in texts:
        ax.text(
            x, ty, text.replace(_NBSP, " "), ha=ha, va="top", multialignment=ha, fontsize=fs, fontweight=weight,
            fontfamily=style.font_family, gid=TEXT_GID.format(part),
            zorder=3,
        )  # fmt: skip

    # Connectors: the main line, the branch to the exclusion box, the split to the groups.
    _arrow(ax, (xc, assessed.y1), (xc, incl.y0), lw, fs)
    if excl is not None:
        _arrow(ax, (xc, excl.y0 + 0.5 * excl.h), (excl.x0, excl.y0 + 0.5 * excl.h), lw, fs)
    if k == 1:
        _arrow(ax, (xc, incl.y1), (group_boxes[0].xc, group_boxes[0].y0), lw, fs)
    elif k > 1:
        centres = [b.xc for b in group_boxes]
        _line(ax, [xc, xc], [incl.y1, split_y], lw)
        _line(ax, [min(centres[0], xc), max(centres[-1], xc)], [split_y, split_y], lw)
        for b in group_boxes:
            _arrow(ax, (b.xc, split_y), (b.xc, b.y0), lw, fs)
    return fig


def _line(ax: Axes, xs: list[float], ys: list[float], lw: float) -> None:
    ax.add_line(Line2D(xs, ys, color="black", linewidth=lw, solid_capstyle="projecting", zorder=1))


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], lw: float, fs: float) -> None:
    """A straight arrow whose head touches ``end`` (a box edge)."""
    ax.add_patch(
        FancyArrowPatch(
            start, end, arrowstyle="-|>", mutation_scale=0.9 * fs, color="black",
            linewidth=lw, shrinkA=0.0, shrinkB=0.0, zorder=1,
        )
    )  # fmt: skip
