"""Forest plot: markers, square sizes, arrows, text, layout without overlaps, deterministic SVG.

``drawn_texts`` and ``text_overlaps`` (render a figure, then compare the window
extents of every drawn text) are shared with the flow and zph figure tests.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.text import Text

from reportgen.figures.export import figure_bytes
from reportgen.figures.forest import (
    ARROW_GID,
    DIAMOND_GID,
    NOTE_GID,
    SQUARES_GID,
    ForestRow,
    forest_figure,
    forest_xlim,
    square_sides,
)
from reportgen.figures.style import MIN_FONT_PT, FigureStyle

# ---------------------------------------------------------------------------
# Shared helpers: which texts are drawn, and do any two overlap?
# ---------------------------------------------------------------------------


def render(fig: Figure) -> FigureCanvasAgg:
    """Draw ``fig`` on an Agg canvas (so that every artist has its final extent)."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return canvas


def drawn_texts(fig: Figure) -> list[Text]:
    """Every visible, non-empty text the figure draws (tick labels only at ticks inside the view)."""
    render(fig)
    tick_label_ids: set[int] = set()
    texts: list[Text] = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            eps = 1e-9 * max(abs(lo), abs(hi), 1.0)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                tick_label_ids.update({id(tick.label1), id(tick.label2)})
            for locs, get in (
                (axis.get_majorticklocs(), axis.get_major_ticks),
                (axis.get_minorticklocs(), axis.get_minor_ticks),
            ):
                if not axis.get_visible():
                    continue
                for loc, tick in zip(locs, get(len(locs)), strict=True):
                    if lo - eps <= loc <= hi + eps:
                        texts.extend(
                            t for t in (tick.label1, tick.label2)
                            if t.get_visible() and t.get_text().strip()
                        )  # fmt: skip
    for t in fig.findobj(Text):
        if id(t) not in tick_label_ids and t.get_visible() and t.get_text().strip():
            texts.append(t)
    return texts


def text_overlaps(fig: Figure, tol_px: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of drawn texts whose window extents overlap by more than ``tol_px`` both ways."""
    canvas = render(fig)
    renderer = canvas.get_renderer()
    texts = drawn_texts(fig)
    boxes = [t.get_window_extent(renderer) for t in texts]
    clashes = []
    for (ta, a), (tb, b) in itertools.combinations(zip(texts, boxes, strict=True), 2):
        dx = min(a.x1, b.x1) - max(a.x0, b.x0)
        dy = min(a.y1, b.y1) - max(a.y0, b.y0)
        if dx > tol_px and dy > tol_px:
            clashes.append((ta.get_text(), tb.get_text()))
    return clashes


def texts_outside_figure(fig: Figure, tol_px: float = 0.5) -> list[str]:
    """Drawn texts that reach beyond the figure's edges."""
    canvas = render(fig)
    renderer = canvas.get_renderer()
    frame = fig.bbox
    out = []
    for t in drawn_texts(fig):
        b = t.get_window_extent(renderer)
        if (b.x0 < frame.x0 - tol_px or b.x1 > frame.x1 + tol_px
                or b.y0 < frame.y0 - tol_px or b.y1 > frame.y1 + tol_px):  # fmt: skip
            out.append(t.get_text())
    return out


# ---------------------------------------------------------------------------
# A subgroup forest plot: 4 variables, a reference level, a not-estimable row,
# and a CI beyond the automatic axis.
# ---------------------------------------------------------------------------

R = ForestRow
COLUMN_LABELS = ("CIT n (events)", "CT n (events)", "HR (95% CI)", "p for interaction")
ROWS = [
    R("All patients", "overall", hr=0.72, lower=0.55, upper=0.94, weight=60,
      columns=("92 (70)", "88 (66)", "0.72 (0.55\u20130.94)", "0.016")),
    R("Age at diagnosis, years", "header", columns=("", "", "", "0.41")),
    R("< 65", "row", indent=1, hr=0.65, lower=0.45, upper=0.94, weight=30,
      columns=("50 (38)", "47 (35)", "0.65 (0.45\u20130.94)", "")),
    R("\u2265 65", "row", indent=1, hr=0.82, lower=0.55, upper=1.22, weight=25,
      columns=("42 (32)", "41 (31)", "0.82 (0.55\u20131.22)", "")),
    R("ECOG performance status", "header", columns=("", "", "", "0.08")),
    R("0", "reference", indent=1, columns=("30 (20)", "28 (19)", "1 (reference)", "")),
    R("1", "row", indent=1, hr=0.55, lower=0.35, upper=0.86, weight=18,
      columns=("40 (31)", "42 (30)", "0.55 (0.35\u20130.86)", "")),
    R("2 (restricted in strenuous activity)", "row", indent=1, hr=2.8, lower=0.6, upper=31.0,
      weight=2, columns=("22 (19)", "18 (17)", "2.80 (0.60\u201331.0)", "")),
    R("Line of therapy", "header", columns=("", "", "", "0.21")),
    R("First", "row", indent=1, hr=0.75, lower=0.52, upper=1.08, weight=28,
      columns=("55 (41)", "52 (40)", "0.75 (0.52\u20131.08)", "")),
    R("Later", "row", indent=1, hr=0.62, lower=0.38, upper=1.01, weight=12,
      columns=("20 (15)", "18 (12)", "0.62 (0.38\u20131.01)", "")),
    R("Third or later", "row", indent=1, columns=("17 (14)", "18 (14)", "NE", ""),
      note="not estimable (no events in one arm)"),
    R("Brain metastases at diagnosis", "header", columns=("", "", "", "0.74")),
    R("No", "row", indent=1, hr=0.70, lower=0.51, upper=0.96, weight=40,
      columns=("70 (52)", "66 (50)", "0.70 (0.51\u20130.96)", "")),
    R("Yes", "row", indent=1, hr=0.78, lower=0.42, upper=1.45, weight=8,
      columns=("22 (18)", "22 (16)", "0.78 (0.42\u20131.45)", "")),
]  # fmt: skip
FAVOURS = ("CIT", "CT")


@pytest.fixture(scope="module")
def fig() -> Figure:
    return forest_figure(ROWS, column_labels=COLUMN_LABELS, favours=FAVOURS)


def _artists(fig: Figure, gid: str, kind: type) -> list:
    return [a for a in fig.findobj(kind) if a.get_gid() == gid]


def test_one_marker_per_estimable_row(fig):
    squares = _artists(fig, SQUARES_GID, PathCollection)
    diamonds = _artists(fig, DIAMOND_GID, Polygon)
    assert len(squares) == 1 and len(diamonds) == 1
    estimable_rows = [r for r in ROWS if r.kind == "row" and r.hr is not None and r.note is None]
    assert len(squares[0].get_offsets()) == len(estimable_rows) == 8
    # Squares sit at their HRs.
    np.testing.assert_allclose(np.asarray(squares[0].get_offsets())[:, 0], [r.hr for r in estimable_rows])


def test_square_area_grows_with_weight(fig):
    squares = _artists(fig, SQUARES_GID, PathCollection)[0]
    weights = np.array([r.weight for r in ROWS if r.kind == "row" and r.note is None])
    sizes = squares.get_sizes()
    order = np.argsort(weights)
    assert np.all(np.diff(sizes[order]) > 0)
    # Area proportional to weight between the clamps: the two largest squares.
    top2 = order[-2:]
    assert sizes[top2[0]] / sizes[top2[1]] == pytest.approx(weights[top2[0]] / weights[top2[1]])


def test_square_sides_clamp_and_missing_weight():
    sides = square_sides([100.0, 25.0, 0.0001, None], max_side=10.0, min_side=3.0)
    np.testing.assert_allclose(sides[:3], [10.0, 5.0, 3.0])
    assert 3.0 < sides[3] < 10.0


def test_arrow_where_ci_leaves_the_axis(fig):
    assert forest_xlim(ROWS) == (0.25, 20.0)  # the upper limit 31 is clipped at 20
    arrows = _artists(fig, ARROW_GID, Line2D)
    assert len(arrows) == 1
    assert arrows[0].get_xdata()[0] == pytest.approx(20.0)
    # A narrower fixed axis: two CIs leave it on the left, one on the right.
    narrow = forest_figure(ROWS, column_labels=COLUMN_LABELS, xlim=(0.4, 2.5))
    xs = sorted(a.get_xdata()[0] for a in _artists(narrow, ARROW_GID, Line2D))
    assert xs == pytest.approx([0.4, 0.4, 2.5])


def test_texts_are_the_given_columns_labels_and_favours(fig):
    shown = [t.get_text() for t in drawn_texts(fig)]
    for row in ROWS:
        assert row.label in shown
        for cell in row.columns:
            if cell:
                assert cell in shown
    joined = [s.replace("\n", " ") for s in shown]
    for head in COLUMN_LABELS:
        assert head in joined
    assert "\u2190 Favours CIT" in shown
    assert "Favours CT \u2192" in shown
    assert "Hazard ratio (95% CI)" in shown
    notes = [t for t in fig.findobj(Text) if t.get_gid() == NOTE_GID]
    # Wrapped to the panel's width when needed.
    assert [t.get_text().replace("\n", " ") for t in notes] == ["not estimable (no events in one arm)"]
    assert notes[0].get_fontstyle() == "italic"


def test_no_text_overlaps_and_all_inside(fig):
    assert text_overlaps(fig) == []
    assert texts_outside_figure(fig) == []
    assert fig.get_size_inches()[0] * 25.4 == pytest.approx(170.0)
    # About 5 mm per row.
    assert 70 <= fig.get_size_inches()[1] * 25.4 <= 115


def test_long_labels_and_four_columns_shrink_the_font_not_below_6pt():
    long = "Eastern Cooperative Oncology Group"  # 34 characters
    rows = [ROWS[0]]
    for v in range(4):
        rows.append(R(f"{long} {v}", "header", columns=("", "", "", "<0.001")))
        rows += [
            R(f"Level {k} of the variable, long text", "row", indent=1, hr=0.5 + 0.3 * k,
              lower=0.2 + 0.1 * k, upper=1.3 + 3 * k, weight=10 + 5 * k,
              columns=("123 (100)", "118 (95)", "0.62 (0.38\u20131.01)", ""))
            for k in range(3)
        ]  # fmt: skip
    assert len(rows) == 17
    big = forest_figure(rows, column_labels=COLUMN_LABELS, favours=("chemo-immunotherapy", "CT"))
    assert text_overlaps(big) == []
    assert texts_outside_figure(big) == []
    sizes = {t.get_fontsize() for t in drawn_texts(big)}
    assert min(sizes) >= MIN_FONT_PT
    assert max(sizes) < FigureStyle().font_size_pt  # had to shrink


def test_too_much_text_for_the_width_is_an_error():
    rows = [R("x" * 10, "row", hr=1.0, lower=0.5, upper=2.0, columns=("w" * 60,) * 4)]
    with pytest.raises(ValueError, match="leaving no room for the plot"):
        forest_figure(rows, column_labels=("a", "b", "c", "d"))


def test_input_checks():
    with pytest.raises(ValueError, match="2 column texts for 4 column labels"):
        forest_figure([R("a", "row", hr=1.0, columns=("1", "2"))], column_labels=COLUMN_LABELS)
    with pytest.raises(ValueError, match="does not contain hr"):
        forest_figure([R("a", "row", hr=1.0, lower=1.2, upper=2.0)], column_labels=())
    with pytest.raises(ValueError, match="xlim"):
        forest_figure(ROWS, column_labels=COLUMN_LABELS, xlim=(1.5, 3.0))


def test_svg_bytes_are_deterministic(fig):
    again = forest_figure(ROWS, column_labels=COLUMN_LABELS, favours=FAVOURS)
    first = figure_bytes(fig, "svg")
    assert first == figure_bytes(again, "svg")
    assert b"Favours CIT" in first  # text stays text in the SVG


def test_overlap_helper_finds_clashes_and_skips_hidden_ticks():
    clash = Figure(figsize=(2, 1))
    clash.text(0.1, 0.5, "first text")
    clash.text(0.15, 0.5, "second text")
    clash.text(0.1, 0.1, "apart")
    assert text_overlaps(clash) == [("first text", "second text")]
    plain = Figure(figsize=(3, 2))
    ax = plain.add_subplot()
    ax.set_xticks([0, 1, 2, 3], ["a", "b", "c", "d"])
    ax.set_xlim(0.5, 2.5)  # ticks 0 and 3 are not drawn
    assert sorted(t.get_text() for t in drawn_texts(plain) if t.get_text().isalpha()) == ["b", "c"]
