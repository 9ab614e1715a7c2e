"""Scaled Schoenfeld residual plots: R's ns() basis and plot.cox.zph smooth, panels, layout."""

from __future__ import annotations

import time

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.lines import Line2D
from matplotlib.text import Text

from reportgen.figures.export import figure_bytes
from reportgen.figures.zph import (
    COEF_GID,
    P_GID,
    POINTS_GID,
    SMOOTH_GID,
    ZPH_AXES,
    ns_basis,
    scatter_indices,
    zph_figure,
    zph_smooth,
)
from tests.unit.test_figures_forest import drawn_texts, text_overlaps, texts_outside_figure

X = np.array([1, 2, 3.5, 4, 6, 7.5, 9, 12, 15, 20.0])

# R 4.2.x, splines: print(ns(x, df = 4), digits = 17), x as X above.
R_NS_DF4 = np.array([
    [0.0, 0.0, 0.0, 0.0],
    [0.0064636671211432606, -0.1058115565570068167, 0.2660404850576171820, -0.1602289285006103237],
    [0.1009947987678634501, -0.2064693805697421225, 0.5191230140039230223, -0.3126536334341808998],
    [0.1735407688899216205, -0.2116432826798225197, 0.5324714930250554756, -0.3206930582991810996],
    [0.5594483401461851635, -0.0933840593858367013, 0.3211187501388900745, -0.1934010654245587602],
    [0.7032013638444952752, 0.0851028968109607542, 0.1544628875534821144, -0.0927071721993420195],
    [0.6307622997178774504, 0.2827008768179028464, 0.1143151298698715651, -0.0601653515875791647],
    [0.2696899240756363003, 0.5386518031439354592, 0.2057496565063861027, -0.0140913837259577738],
    [0.0658422666200283863, 0.4501681361003200266, 0.2936690313427853249, 0.1903205659368663594],
    [0.0, -0.1574970283579555097, 0.3959925284428595926, 0.7615044999150959448],
])  # fmt: skip

# R: print(ns(x, df = 4, intercept = TRUE), digits = 17), first three rows.
R_NS_DF4_INTERCEPT = np.array([
    [-0.215387447585321468, -0.261220310814551770, 0.641177126544808962, -0.379956815730257136],
    [0.101424934944272571, -0.198547606662672071, 0.492726900564357806, -0.291986311445545321],
    [0.489749641121058454, -0.089086069632189430, 0.302771668523029558, -0.179420248013647116],
])  # fmt: skip


def test_ns_basis_matches_r():
    """R: ns(x, df = 4) and ns(x, df = 4, intercept = TRUE); knots at 3.625, 6.75, 11.25."""
    np.testing.assert_allclose(ns_basis(X, 4), R_NS_DF4, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(ns_basis(X, 4, intercept=True)[:3], R_NS_DF4_INTERCEPT, rtol=1e-10, atol=1e-14)


def test_ns_basis_extrapolates_linearly_as_r():
    """R: ns(c(-1, 25), knots = c(3.625, 6.75, 11.25), Boundary.knots = c(1, 20))."""
    got = ns_basis([-1.0, 25.0], knots=[3.625, 6.75, 11.25], boundary_knots=(1.0, 20.0))
    expected = [
        [0.0, 0.22047027666796, -0.554325267050872, 0.333854990382911],
        [0.0, -0.87578536254033, 0.487688911529971, 1.388096451010358],
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_smooth_matches_plot_cox_zph():
    """The smooth and band of R's plot.cox.zph (survival 3.5), on xx = X and yy below, var 2.5:

        pred.x <- seq(min(xx), max(xx), length = 40)
        lmat <- ns(c(pred.x, xx), df = 4, intercept = TRUE)
        pmat <- lmat[1:40, ]; xmat <- lmat[-(1:40), ]; qmat <- qr(xmat)
        yhat <- pmat %*% qr.coef(qmat, yy)
        bk <- backsolve(qmat$qr[1:4, 1:4], diag(4)); xtx <- bk %*% t(bk)
        seval <- ((pmat %*% xtx) * pmat) %*% rep(1, 4); temp <- 2 * sqrt(2.5 * seval)
    printed at grid points 1, 7, 20, 33, 40.
    """
    yy = np.array([0.3, -0.2, 0.8, 0.1, -0.5, 0.4, 1.2, -0.3, 0.6, 0.9])
    sm = zph_smooth(X, yy, resid_var=2.5)
    i = np.array([1, 7, 20, 33, 40]) - 1
    np.testing.assert_allclose(sm.grid[i], [1.0, 3.9230769230769229, 10.256410256410255,
                                            16.589743589743591, 20.0], rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(
        sm.fit[i],
        [0.11274008630253474, 0.24335493904158509, 0.29335178673158502, 0.55841317386110412,
         0.90932485850810707],
        rtol=1e-10,
    )  # fmt: skip
    np.testing.assert_allclose(
        2 * sm.se[i],
        [2.3517952104131754, 1.3749352267103403, 1.6884190778522647, 2.0783616820894042,
         3.1124399573515866],
        rtol=1e-10,
    )  # fmt: skip
    assert sm.df == 4


def test_smooth_of_a_straight_line_is_the_line():
    x = np.linspace(0.5, 40.0, 57) ** 1.3  # uneven spacing
    y = 0.7 - 0.025 * x
    sm = zph_smooth(x, y)
    np.testing.assert_allclose(sm.fit, 0.7 - 0.025 * sm.grid, rtol=0, atol=1e-10)
    assert sm.se is not None and np.max(sm.se) < 1e-8  # a perfect fit: no residual variance


def test_smooth_with_few_events_keeps_a_residual_df():
    sm = zph_smooth([1.0, 5.0, 9.0], [0.2, -0.1, 0.4])
    assert sm.df == 2  # a straight line through 3 points, so the band can be estimated
    assert sm.se is not None and np.all(np.isfinite(sm.se))
    flat = zph_smooth([3.0, 3.0], [1.0, 2.0])
    np.testing.assert_allclose(flat.fit, 1.5)


def test_scatter_subsample_is_systematic_and_keeps_the_ends():
    x = np.arange(10_000, 0, -1, dtype=float)
    idx = scatter_indices(x, 2000)
    assert idx.size == 2000 and np.unique(idx).size == 2000
    assert {int(np.argmin(x)), int(np.argmax(x))} <= set(idx.tolist())
    np.testing.assert_array_equal(scatter_indices(x[:50], 2000), np.arange(50))


def _example(n: int, seed_shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic event times and residuals (no random generator)."""
    k = np.arange(n, dtype=float)
    x = np.sort(300.0 * (-np.log1p(-(k + 0.5) / n)))  # exponential quantiles
    wiggle = np.sin(k * 12.9898 + seed_shift) * 43758.5453
    noise = wiggle - np.floor(wiggle) - 0.5
    res = np.column_stack([0.02 + 0.1 * noise, -0.5 + 0.0008 * x + 3 * noise, 0.4 + 2 * noise[::-1]])
    return x, res


LABELS = ["Age (per year)", "Sex: female vs male", "ECOG performance status 1 vs 0"]
P_TEXTS = ["p = 0.56", "p = 0.013", "p = 0.21"]


@pytest.mark.parametrize("n", [3, 200])
def test_figure_panels_texts_and_layout(n):
    x, res = _example(n)
    fig = zph_figure(x, res, LABELS, coef=[0.02, -0.5, 0.4], p_values=P_TEXTS,
                     x_label="Time (days)")  # fmt: skip
    panels = [ax for ax in fig.axes if ax.get_label() == ZPH_AXES]
    assert len(panels) == 3
    for ax, label, p_text, coef in zip(panels, LABELS, P_TEXTS, [0.02, -0.5, 0.4], strict=True):
        assert ax.get_title(loc="left").replace("\n", " ") == label
        assert [t.get_text() for t in ax.texts if t.get_gid() == P_GID] == [p_text]
        coef_lines = [ln for ln in ax.lines if ln.get_gid() == COEF_GID]
        assert len(coef_lines) == 1 and coef_lines[0].get_ydata()[0] == coef
        assert len([ln for ln in ax.lines if ln.get_gid() == SMOOTH_GID]) == 1
        points = [c for c in ax.collections if c.get_gid() == POINTS_GID]
        assert len(points[0].get_offsets()) == n
    assert text_overlaps(fig) == []
    assert texts_outside_figure(fig) == []
    assert min(t.get_fontsize() for t in drawn_texts(fig)) >= 6.0


def test_p_text_sits_above_the_data():
    x, res = _example(200)
    fig = zph_figure(x, res, LABELS, p_values=P_TEXTS, x_label="Time (days)")
    for ax in fig.axes:
        p_box = next(t for t in ax.texts if t.get_gid() == P_GID).get_window_extent()
        data_top = max(
            np.max(ax.transData.transform(np.asarray(a.get_offsets()))[:, 1])
            for a in ax.collections if isinstance(a, PathCollection)
        )  # fmt: skip
        curve_top = max(
            np.max(ax.transData.transform(np.asarray(ln.get_xydata()))[:, 1])
            for ln in ax.lines if isinstance(ln, Line2D)
        )  # fmt: skip
        assert p_box.y0 >= max(data_top, curve_top)


def test_large_n_subsamples_points_but_smooths_all():
    x, res = _example(100_000)
    start = time.perf_counter()
    fig = zph_figure(x, res, LABELS, x_label="Time (days)")
    svg = figure_bytes(fig, "svg")
    assert time.perf_counter() - start < 5.0
    assert len(svg) < 2_000_000
    for k, ax in enumerate(fig.axes):
        points = next(c for c in ax.collections if c.get_gid() == POINTS_GID)
        assert len(points.get_offsets()) == 2000
        smooth = next(ln for ln in ax.lines if ln.get_gid() == SMOOTH_GID)
        np.testing.assert_allclose(smooth.get_ydata(), zph_smooth(x, res[:, k]).fit)
    # The second term's residuals rise with time: its smooth does too.
    rising = next(ln for ln in fig.axes[1].lines if ln.get_gid() == SMOOTH_GID).get_ydata()
    assert rising[-1] - rising[0] == pytest.approx(0.0008 * (x.max() - x.min()), rel=0.05)


def test_more_than_three_terms_wrap_onto_rows_and_svg_is_deterministic():
    x, res = _example(120)
    res5 = np.column_stack([res, res[:, :2]])
    labels = LABELS + ["Term four", "Term five"]
    fig = zph_figure(x, res5, labels, x_label="Time (days)")
    positions = sorted({round(ax.get_position().y0, 3) for ax in fig.axes})
    assert len(fig.axes) == 5 and len(positions) == 2
    assert text_overlaps(fig) == []
    again = zph_figure(x, res5, labels, x_label="Time (days)")
    assert figure_bytes(fig, "svg") == figure_bytes(again, "svg")
    # The x label under the lowest panel of each column only, the y label at row starts.
    x_labels = [t for t in fig.findobj(Text) if t.get_text() == "Time (days)"]
    assert len(x_labels) == 3


def test_input_checks():
    x, res = _example(20)
    with pytest.raises(ValueError, match=r"residuals must be \(n_events, n_terms\) = \(20, 2\)"):
        zph_figure(x, res, LABELS[:2], x_label="t")
    with pytest.raises(ValueError, match="p_values has 2 entries for 3 terms"):
        zph_figure(x, res, LABELS, p_values=P_TEXTS[:2], x_label="t")
