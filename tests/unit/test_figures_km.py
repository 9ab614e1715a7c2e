"""Kaplan-Meier figure: numbers at risk, figure structure, thinning, layout and byte-stable export."""

from __future__ import annotations

import io
import itertools
import time
import types
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from reportgen.figures.export import figure_bytes, save_figure
from reportgen.figures.km import (
    CURVES_AXES,
    RISK_AXES,
    CurveInput,
    censor_mark_indices,
    km_figure,
    km_panels,
    n_at_risk,
    nice_tick_interval,
    thin_steps,
)
from reportgen.figures.style import OKABE_ITO, FigureStyle

NOTE = "Log-rank p = 0.032\nHR 0.62 (95% CI 0.38-1.01)"
LONG_A = "Concurrent chemoradiotherapy, 60 Gy in 30 fr"
LONG_B = "Sequential chemotherapy then radiotherapy arm"


# --------------------------------------------------------------------------- helpers


def km(time_: np.ndarray, event: np.ndarray) -> types.SimpleNamespace:
    """A small KM step table (log-log 95% CI) in the shape the figure takes."""
    t = np.asarray(time_, dtype=float)
    e = np.asarray(event, dtype=bool)
    order = np.argsort(t, kind="stable")
    t, e = t[order], e[order]
    times, first = np.unique(t, return_index=True)
    n_risk = t.size - first
    d = np.add.reduceat(e.astype(np.int64), first)
    c = np.add.reduceat((~e).astype(np.int64), first)
    s = np.cumprod(1.0 - d / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.cumsum(d / (n_risk * (n_risk - d)))
        se = np.sqrt(var) / np.abs(np.log(s))
        lower = np.where(s > 0, s ** np.exp(1.96 * se), np.nan)
        upper = np.where(s > 0, s ** np.exp(-1.96 * se), np.nan)
    return types.SimpleNamespace(time=times, n_risk=n_risk, n_event=d, n_censor=c, survival=s, lower=lower, upper=upper)


def months_group(rng: np.random.Generator, n: int, scale: float) -> types.SimpleNamespace:
    """Event times exponential with mean ``scale`` months, censored uniformly in 6-36 months."""
    events = rng.exponential(scale, n)
    censor = rng.uniform(6.0, 36.0, n)
    return km(np.round(np.minimum(events, censor), 1), events <= censor)


def hand_curve() -> types.SimpleNamespace:
    """10 patients: events at 2 (2), 5 (1), 9 (1); censored at 5, 5.5 (x2), 9, 12 (x2)."""
    return types.SimpleNamespace(
        time=np.array([2.0, 5.0, 5.5, 9.0, 12.0]),
        n_risk=np.array([10, 8, 6, 4, 2]),
        n_event=np.array([2, 1, 0, 1, 0]),
        n_censor=np.array([0, 1, 2, 1, 2]),
        survival=np.array([0.8, 0.7, 0.7, 0.525, 0.525]),
        lower=np.array([0.5, 0.4, 0.4, 0.2, 0.2]),
        upper=np.array([0.95, 0.9, 0.9, 0.8, 0.8]),
    )


def axes_by_label(fig: Figure, label: str) -> list:
    return [ax for ax in fig.axes if ax.get_label() == label]


def shown_texts(fig: Figure) -> list[Text]:
    """Every non-empty visible text the figure draws."""
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and t.get_figure(root=True) is fig]


def risk_rows(rax) -> dict[str, list[tuple[float, str]]]:
    """Risk-table numbers per row colour: [(x, text), ...] in x order."""
    rows: dict[str, list[tuple[float, str]]] = {}
    for t in rax.texts:
        rows.setdefault(matplotlib.colors.to_hex(t.get_color()), []).append((t.get_position()[0], t.get_text()))
    return {k: sorted(v) for k, v in rows.items()}


@pytest.fixture(scope="module")
def groups() -> tuple[types.SimpleNamespace, ...]:
    rng = np.random.default_rng(20240611)
    return tuple(months_group(rng, n, s) for n, s in ((40, 14.0), (42, 24.0), (38, 10.0), (41, 16.0)))


@pytest.fixture(scope="module")
def single(groups) -> Figure:
    a, b, _, _ = groups
    return km_figure(
        [CurveInput("Chemotherapy", a), CurveInput("Chemoradiotherapy", b)],
        time_unit="months",
        annotation=NOTE,
    )


@pytest.fixture(scope="module")
def panels(groups) -> Figure:
    a, b, c, d = groups
    return km_panels(
        [
            ("First-line", [CurveInput("Chemotherapy", a), CurveInput("Chemoradiotherapy", b)]),
            ("Later-line", [CurveInput("Chemotherapy", c), CurveInput("Chemoradiotherapy", d)]),
        ],
        time_unit="months",
        annotations=[NOTE, None],
    )


# --------------------------------------------------------------------------- n_at_risk


def test_n_at_risk_is_n_risk_of_first_row_at_or_after_t():
    curve = hand_curve()
    times = [0.0, 1.0, 2.0, 3.0, 5.0, 5.2, 5.5, 9.0, 11.9, 12.0, 12.01, 36.0]
    expected = [10, 10, 10, 8, 8, 6, 6, 4, 2, 2, 0, 0]
    np.testing.assert_array_equal(n_at_risk(curve, times), expected)


def test_n_at_risk_at_zero_is_group_size_and_empty_curve_gives_zero():
    curve = hand_curve()
    assert n_at_risk(curve, [0.0])[0] == 10
    empty = types.SimpleNamespace(time=np.array([]), n_risk=np.array([], dtype=int))
    np.testing.assert_array_equal(n_at_risk(empty, [0.0, 3.0]), [0, 0])


# --------------------------------------------------------------------------- thinning


def test_thin_steps_drops_only_unchanged_rows_and_keeps_ends():
    c = hand_curve()
    keep = thin_steps(c.time, c.survival, lower=c.lower, upper=c.upper)
    # Rows 2 (5.5) and 4 (12) repeat the previous survival and CI; the last is kept anyway.
    np.testing.assert_array_equal(keep, [0, 1, 3, 4])


def test_thin_steps_keeps_every_drop_when_few_points(groups):
    c = groups[0]
    keep = thin_steps(c.time, c.survival, lower=c.lower, upper=c.upper)
    drops = np.flatnonzero(np.diff(c.survival) != 0) + 1
    assert keep[0] == 0 and keep[-1] == c.time.size - 1
    assert set(drops) <= set(keep.tolist())
    # Dropped rows are censoring-only rows: they change neither survival nor CI.
    dropped = np.setdiff1d(np.arange(c.time.size), keep)
    assert np.all(c.n_event[dropped] == 0)


def test_thin_steps_caps_points_and_stays_within_one_bin():
    rng = np.random.default_rng(1)
    n = 200_000
    t = np.cumsum(rng.exponential(1.0, n))
    s = np.cumprod(1.0 - rng.uniform(0, 2e-5, n))
    keep = thin_steps(t, s, max_points=500)
    assert keep.size <= 500
    assert keep[0] == 0 and keep[-1] == n - 1
    width = (t[-1] - t[0]) / (500 - 2)

    def thinned(x: np.ndarray) -> np.ndarray:
        i = np.searchsorted(t[keep], x, side="right") - 1
        return np.where(i >= 0, s[keep][np.maximum(i, 0)], 1.0)

    # Each original value lies between the thinned curve at t and at t + one bin width.
    assert np.all(thinned(t + width) <= s + 1e-15)
    assert np.all(s <= thinned(t) + 1e-15)


def test_censor_marks_capped_with_one_per_occupied_bin():
    t = np.linspace(0.1, 60.0, 5000)
    n_censor = np.ones(5000, dtype=int)
    n_censor[(t > 20) & (t < 30)] = 0
    idx = censor_mark_indices(t, n_censor, x_max=60.0, max_marks=200)
    assert 150 <= idx.size <= 200
    assert not np.any((t[idx] > 20) & (t[idx] < 30))
    assert np.all(np.diff(np.floor(t[idx] / 60.0 * 200)) > 0)  # at most one per bin
    few = censor_mark_indices(t[:50], n_censor[:50], x_max=60.0, max_marks=200)
    np.testing.assert_array_equal(few, np.arange(50))


def test_nice_tick_interval_by_unit():
    assert nice_tick_interval(36.0, "months", max_intervals=10) == 6.0
    assert nice_tick_interval(35.2, "months", max_intervals=13) == 3.0
    assert nice_tick_interval(1000.0, "days", max_intervals=10) == 180.0
    assert nice_tick_interval(8.0, "years", max_intervals=10) == 1.0
    assert nice_tick_interval(0.8, "months", max_intervals=10) == 0.1


# --------------------------------------------------------------------------- figure


def test_single_figure_structure_and_risk_table(single, groups):
    a, b, _, _ = groups
    assert [ax.get_label() for ax in single.axes] == [CURVES_AXES, RISK_AXES]
    ax, rax = single.axes
    assert single.get_size_inches()[0] * 25.4 == pytest.approx(170.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Chemotherapy",
        "Chemoradiotherapy",
    ]
    assert ax.get_xlabel() == "Time (months)"
    assert ax.get_ylabel() == "Survival probability"
    assert ax.get_ylim() == (0.0, 1.0)
    np.testing.assert_allclose(ax.get_yticks(), [0.0, 0.25, 0.5, 0.75, 1.0])
    ticks = ax.get_xticks()
    np.testing.assert_allclose(np.diff(ticks), 6.0)  # 36 months of follow-up: every 6 months
    assert ax.get_xlim() == (0.0, ticks[-1])

    labels = [t.get_text() for t in rax.get_yticklabels()]
    assert labels == ["Number at risk", "Chemotherapy", "Chemoradiotherapy"]
    rows = risk_rows(rax)
    assert list(rows) == [OKABE_ITO[0].lower(), OKABE_ITO[1].lower()]
    for colour, curve in zip(rows, (a, b), strict=True):
        xs = [x for x, _ in rows[colour]]
        numbers = [int(s) for _, s in rows[colour]]
        np.testing.assert_allclose(xs, ticks)
        np.testing.assert_array_equal(numbers, n_at_risk(curve, ticks))
    assert rows[OKABE_ITO[0].lower()][0][1] == "40"  # group n at time 0

    # Same x transform: each number sits exactly under its tick on the page.
    single.draw_without_rendering()
    tick_px = ax.transData.transform(np.c_[ticks, np.zeros_like(ticks)])[:, 0]
    for t in rax.texts:
        centre = t.get_window_extent().x0 + t.get_window_extent().width / 2
        assert np.min(np.abs(tick_px - centre)) < 1.0


def test_curves_start_at_one_and_marks_censoring(groups):
    c = hand_curve()
    fig = km_figure([CurveInput("Arm", c)], time_unit="months", show_ci=False, risk_table=False)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    step, marks = ax.lines
    assert step.get_drawstyle() == "steps-post"
    np.testing.assert_allclose(step.get_xdata(), [0.0, 2.0, 5.0, 9.0, 12.0])
    np.testing.assert_allclose(step.get_ydata(), [1.0, 0.8, 0.7, 0.525, 0.525])
    np.testing.assert_allclose(marks.get_xdata(), [5.0, 5.5, 9.0, 12.0])
    np.testing.assert_allclose(marks.get_ydata(), [0.7, 0.7, 0.525, 0.525])
    assert not ax.collections  # no CI band


def test_break_time_and_xmax(groups):
    a, b, _, _ = groups
    fig = km_figure([CurveInput("A", a), CurveInput("B", b)], time_unit="months", break_time=4, xmax=24)
    ax, rax = fig.axes
    np.testing.assert_allclose(ax.get_xticks(), [0, 4, 8, 12, 16, 20, 24])
    assert ax.get_xlim() == (0.0, 24.0)
    xs = sorted({t.get_position()[0] for t in rax.texts})
    np.testing.assert_allclose(xs, [0, 4, 8, 12, 16, 20, 24])
    # Curves stop at the axis end.
    assert max(line.get_xdata().max() for line in ax.lines) <= 24.0


def test_panels_share_axes_and_label_rows_once(panels, groups):
    a, b, c, d = groups
    assert [ax.get_label() for ax in panels.axes] == [CURVES_AXES, RISK_AXES] * 2
    ax1, rax1, ax2, rax2 = panels.axes
    assert ax1.get_title(loc="left") == "First-line"
    assert ax2.get_title(loc="left") == "Later-line"
    assert ax1.get_xlim() == ax2.get_xlim()
    assert ax1.get_ylim() == ax2.get_ylim() == (0.0, 1.0)
    assert ax2.get_shared_y_axes().joined(ax1, ax2)
    assert [t.get_text() for t in rax1.get_yticklabels()][1:] == [
        "Chemotherapy",
        "Chemoradiotherapy",
    ]
    assert not [t for t in rax2.get_yticklabels() if t.get_visible() and t.get_text()]
    ticks = ax1.get_xticks()
    for rax, curves in ((rax1, (a, b)), (rax2, (c, d))):
        rows = risk_rows(rax)
        for colour, curve in zip(rows, curves, strict=True):
            np.testing.assert_array_equal([int(s) for _, s in rows[colour]], n_at_risk(curve, ticks))
    # Same colour for the same group in both panels.
    assert list(risk_rows(rax1)) == list(risk_rows(rax2))


def _assert_no_overlaps(fig: Figure) -> None:
    fig_box = fig.bbox
    texts = shown_texts(fig)
    boxes = [(t.get_text(), t.get_window_extent()) for t in texts]
    for text, box in boxes:
        assert box.x0 >= fig_box.x0 - 1 and box.x1 <= fig_box.x1 + 1, f"{text!r} clipped"
        assert box.y0 >= fig_box.y0 - 1 and box.y1 <= fig_box.y1 + 1, f"{text!r} clipped"
    for (ta, ba), (tb, bb) in itertools.combinations(boxes, 2):
        assert not ba.overlaps(bb), f"{ta!r} overlaps {tb!r}"


def test_no_text_overlaps_or_clipping(single, panels):
    _assert_no_overlaps(single)
    _assert_no_overlaps(panels)


def test_long_labels_do_not_overlap(groups):
    a, b, c, d = groups
    assert len(LONG_A) >= 40 and len(LONG_B) >= 40
    one = km_figure([CurveInput(LONG_A, a), CurveInput(LONG_B, b)], time_unit="months", annotation=NOTE)
    _assert_no_overlaps(one)
    two = km_panels(
        [("First-line", [CurveInput(LONG_A, a), CurveInput(LONG_B, b)]),
         ("Later-line", [CurveInput(LONG_A, c), CurveInput(LONG_B, d)])],
        time_unit="months",
        annotations=[NOTE, NOTE],
    )  # fmt: skip
    _assert_no_overlaps(two)
    # Wrapped labels keep all their words.
    legend = two.legends[0] if two.legends else two.axes[0].get_legend()
    assert [" ".join(t.get_text().split()) for t in legend.get_texts()] == [LONG_A, LONG_B]


def test_annotation_lower_left_when_free_and_fonts_at_least_6pt():
    high = hand_curve()
    fig = km_figure([CurveInput("Arm", high)], time_unit="months", annotation="Log-rank p = 0.5")
    ax = fig.axes[0]
    note = next(t for t in ax.texts if t.get_text() == "Log-rank p = 0.5")
    frame, box = ax.get_window_extent(), note.get_window_extent()
    assert box.x0 - frame.x0 < 0.1 * frame.width and box.y0 - frame.y0 < 0.1 * frame.height
    legend = ax.get_legend().get_window_extent()
    assert frame.x1 - legend.x1 < 0.1 * frame.width and frame.y1 - legend.y1 < 0.1 * frame.height
    assert min(t.get_fontsize() for t in shown_texts(fig)) >= 6.0


def test_style_rejects_tiny_fonts():
    with pytest.raises(ValueError, match="at least 6 pt"):
        FigureStyle(font_size_pt=5)


def test_bad_curve_input_is_named():
    bad = types.SimpleNamespace(time=np.array([1.0]), survival=np.array([0.5]))
    with pytest.raises(ValueError, match="'Arm' lacks the field"):
        km_figure([CurveInput("Arm", bad)], time_unit="months")


# --------------------------------------------------------------------------- export


def test_export_is_byte_identical_and_independent_of_global_rc(single, groups, tmp_path: Path):
    svg1, svg2 = figure_bytes(single, "svg"), figure_bytes(single, "svg")
    png1, png2 = figure_bytes(single, "png"), figure_bytes(single, "png")
    assert svg1 == svg2 and png1 == png2
    assert b"Number at risk" in svg1  # text stays text
    assert b"<dc:date>" not in svg1

    before = dict(matplotlib.rcParams)
    a, b, _, _ = groups
    curves = [CurveInput("Chemotherapy", a), CurveInput("Chemoradiotherapy", b)]
    changed = {"font.size": 20, "lines.linewidth": 5, "axes.grid": True, "savefig.bbox": "tight"}
    with matplotlib.rc_context(changed):
        other = km_figure(curves, time_unit="months", annotation=NOTE)
        other_svg = figure_bytes(other, "svg")
    assert other_svg == svg1
    assert dict(matplotlib.rcParams) == before

    paths = save_figure(single, tmp_path / "km_os")
    assert paths == {"svg": tmp_path / "km_os.svg", "png": tmp_path / "km_os.png"}
    assert paths["svg"].read_bytes() == svg1
    image = Image.open(io.BytesIO(png1))
    w_in, h_in = single.get_size_inches()
    assert image.size == (int(w_in * 300), int(h_in * 300))
    assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    assert "Software" not in image.info


def test_million_patient_curve_is_fast_and_small():
    rng = np.random.default_rng(3)
    n = 1_000_000
    events = rng.exponential(20.0, n)
    censor = rng.uniform(0.0, 60.0, n)
    big = km(np.minimum(events, censor), events <= censor)
    assert big.time.size > 900_000
    start = time.perf_counter()
    fig = km_figure([CurveInput("All patients", big)], time_unit="months")
    svg = figure_bytes(fig, "svg")
    elapsed = time.perf_counter() - start
    assert len(svg) < 500_000
    assert elapsed < 2.0  # typically ~0.15 s; generous for slow CI machines
    ax = fig.axes[0]
    step, marks = ax.lines
    assert len(step.get_xdata()) <= FigureStyle().max_points + 2
    assert len(marks.get_xdata()) <= FigureStyle().max_censor_marks
    rows = risk_rows(fig.axes[1])
    assert next(iter(rows.values()))[0][1] == "1000000"
