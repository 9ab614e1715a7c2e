"""Scaled Schoenfeld residual plots: event times and residuals in; one panel per Cox term out.

Input: the (untransformed) event times ``x`` (n_events), the scaled Schoenfeld
residuals (n_events x n_terms, as ``cox.zph(...)$y`` in R's survival package),
the term labels, optionally the coefficients and preformatted PH-test p texts.
Output: a grid of panels (up to 3 per row), each with the residuals as small
grey points, a smooth with a 95% band, a dashed line at the coefficient (a
time-constant effect), the term as the panel title and the p text in its corner.

The smooth is R's ``plot.cox.zph``: a natural cubic spline with df = 4 and an
intercept (``splines::ns(c(grid, x), df = 4, intercept = TRUE)``, interior knots
at quantiles of the 40-point prediction grid joined with the event times) fitted
by least squares to all events, drawn at the 40 grid points, with the band
fit ± 2 SE. ``ns_basis`` builds the basis exactly as ``splines::ns`` does
(B-splines of order 4, the two second-derivative constraints at the boundary
knots removed by the same Householder QR as R's LINPACK ``qr``). The SE uses
the residual variance ``resid_var`` when given (``diag(cox.zph(...)$var)``:
then the band equals R's), otherwise the residual variance of the spline fit.

Above ``max_points`` (2000) events the scatter shows a systematic subsample
(every k-th event in time order), so an SVG of 10^5 events stays small; the
smooth, its band and the y range always use every event.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.style
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.transforms import ScaledTranslation
from scipy.interpolate import BSpline

from reportgen.figures.forest import TextRuler
from reportgen.figures.style import FigureStyle

__all__ = ["ZphSmooth", "ns_basis", "zph_smooth", "zph_figure", "scatter_indices", "ZPH_AXES"]

#: Axes label of each panel, so that tests and later styling steps can find them.
ZPH_AXES = "zph-panel"
#: Artist ids inside a panel.
POINTS_GID, SMOOTH_GID, BAND_GID, COEF_GID = "zph-points", "zph-smooth", "zph-band", "zph-coef"
P_GID = "zph-p"

_MAX_COLUMNS = 3
#: Prediction grid of the smooth (R's ``nsmo``).
N_GRID = 40
_POINT_GREY = "#808080"
_POINT_ALPHA = 0.5
_POINT_SIZE_PT = 1.8
#: Padding of the p text from the panel corner, in font sizes.
_P_PAD_EM = 0.3


# ---------------------------------------------------------------------------
# Natural cubic spline basis, as splines::ns
# ---------------------------------------------------------------------------


def _bspline_design(x: np.ndarray, knots: np.ndarray, deriv: int = 0) -> np.ndarray:
    """Cubic B-spline basis (``splines::splineDesign(knots, x, ord = 4, derivs)``) at ``x``.

    ``x`` must lie inside [knots[3], knots[-4]]; the right end takes the limit from the left.
    """
    n_basis = knots.size - 4
    spline = BSpline(knots, np.eye(n_basis), 3, extrapolate=False)
    out = spline(x, nu=deriv) if deriv else spline(x)
    return np.asarray(out, dtype=float).reshape(np.size(x), n_basis)


def _householder_qty(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Q^T y for the QR of ``a`` (m x p, m >= p) by LINPACK's Householder steps (R's ``qr.qty``).

    LINPACK reflects column l onto ``-sign(a_ll) * ||a_l||`` even when the column
    below the diagonal is already zero, where LAPACK would not reflect; the
    complement columns of Q (what ``ns`` keeps) then differ in sign, so the
    steps are spelt out here rather than taken from ``numpy.linalg.qr``.
    """
    a = np.array(a, dtype=float)
    y = np.array(y, dtype=float)
    m, p = a.shape
    for col in range(min(p, m - 1)):
        v = a[col:, col].copy()
        norm = float(np.linalg.norm(v))
        if norm == 0.0:
            continue
        if v[0] != 0.0:
            norm = math.copysign(norm, v[0])
        v /= norm
        v[0] += 1.0
        # H = I - v v^T / v_0, applied to the remaining columns of a and to y.
        a[col:, col + 1 :] -= np.outer(v, v @ a[col:, col + 1 :]) / v[0]
        y[col:] -= np.outer(v, v @ y[col:]).reshape(y[col:].shape) / v[0]
    return y


def ns_basis(
    x: np.ndarray | Sequence[float],
    df: int | None = None,
    *,
    knots: Sequence[float] | None = None,
    intercept: bool = False,
    boundary_knots: tuple[float, float] | None = None,
) -> np.ndarray:
    """Natural cubic spline basis, column for column as R's ``splines::ns``.

    ``df`` places ``df - 1 - intercept`` interior knots at equally spaced
    quantiles of ``x`` (R's type-7 quantiles, as ``numpy.quantile``), unless
    ``knots`` are given. ``boundary_knots`` default to the range of ``x``;
    outside them the basis continues linearly, as in R. Returns an
    (len(x), df) array (df = len(knots) + 1 + intercept).
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError("x must be a non-empty 1-d array of finite numbers")
    bk = (float(np.min(x)), float(np.max(x))) if boundary_knots is None else tuple(
        sorted(map(float, boundary_knots))
    )  # fmt: skip
    if not bk[0] < bk[1]:
        raise ValueError(f"the boundary knots must differ, got {bk!r}")
    outside_lo, outside_hi = x < bk[0], x > bk[1]
    inside = ~(outside_lo | outside_hi)
    if knots is None:
        if df is None:
            raise ValueError("give df or knots")
        n_inner = max(int(df) - 1 - int(intercept), 0)
        probs = np.linspace(0.0, 1.0, n_inner + 2)[1:-1]
        inner = np.quantile(x[inside], probs) if n_inner else np.empty(0)
    else:
        inner = np.sort(np.asarray(knots, dtype=float))
    all_knots = np.sort(np.concatenate([np.repeat(bk, 4), inner]))
    n_basis = all_knots.size - 4

    basis = np.empty((x.size, n_basis))
    basis[inside] = _bspline_design(x[inside], all_knots)
    for mask, pivot in ((outside_lo, bk[0]), (outside_hi, bk[1])):
        if np.any(mask):
            at = _bspline_design(np.array([pivot]), all_knots)[0]
            slope = _bspline_design(np.array([pivot]), all_knots, deriv=1)[0]
            basis[mask] = at + np.outer(x[mask] - pivot, slope)
    const = _bspline_design(np.array(bk), all_knots, deriv=2)
    if not intercept:
        const, basis = const[:, 1:], basis[:, 1:]
    qty = _householder_qty(const.T, basis.T)
    return qty[2:].T.copy()


# ---------------------------------------------------------------------------
# The smooth of plot.cox.zph
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ZphSmooth:
    """A spline smooth of residuals against time, on a grid.

    ``se`` is the standard error of the fit at each grid point (the band is
    ``fit ± 2 * se``), or None when it cannot be estimated (as many events as
    spline coefficients and no ``resid_var``). ``df`` is the spline df used
    (below the one asked for when the distinct times are too few).
    """

    grid: np.ndarray
    fit: np.ndarray
    se: np.ndarray | None
    df: int


def zph_smooth(
    x: np.ndarray | Sequence[float],
    y: np.ndarray | Sequence[float],
    *,
    df: int = 4,
    n_grid: int = N_GRID,
    resid_var: float | None = None,
) -> ZphSmooth:
    """R's ``plot.cox.zph`` smooth of ``y`` against ``x`` (NaN residuals dropped).

    Mirrors ``ns(c(pred.x, x), df, intercept = TRUE)``, the least-squares fit
    ``qr.coef`` and ``seval = diag(P (X'X)^-1 P')``; the SE is
    ``sqrt(v * seval)`` with ``v = resid_var`` or, when it is None, the
    residual variance ``RSS / (n - df)`` of the fit. With fewer distinct times
    than ``df`` the df drops to their number (at least 2); a single distinct
    time gives a flat line at the mean.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-d of one length, got {x.shape} and {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size == 0:
        raise ValueError("no finite (time, residual) pair to smooth")
    grid = np.linspace(float(np.min(x)), float(np.max(x)), n_grid)
    n_distinct = np.unique(x).size
    if n_distinct < 2:
        fit = np.full(n_grid, float(np.mean(y)))
        var = resid_var if resid_var is not None else (
            float(np.var(y, ddof=1)) if y.size > 1 else math.nan
        )  # fmt: skip
        se = np.full(n_grid, math.sqrt(var / y.size)) if math.isfinite(var) else None
        return ZphSmooth(grid, fit, se, 1)
    # Leave at least one residual df (for the SE) while keeping a line (df 2).
    df_used = max(2, min(int(df), n_distinct - 1))
    while True:
        lmat = ns_basis(np.concatenate([grid, x]), df_used, intercept=True)
        pmat, xmat = lmat[:n_grid], lmat[n_grid:]
        if np.linalg.matrix_rank(xmat) == df_used or df_used == 2:
            break
        df_used -= 1
    q, r = np.linalg.qr(xmat)
    coef = np.linalg.solve(r, q.T @ y)
    fit = pmat @ coef
    r_inv = np.linalg.solve(r, np.eye(df_used))
    seval = np.sum((pmat @ r_inv) ** 2, axis=1)
    if resid_var is not None:
        var = float(resid_var)
    elif y.size > df_used:
        var = float(np.sum((y - xmat @ coef) ** 2) / (y.size - df_used))
    else:
        var = math.nan
    se = np.sqrt(var * seval) if math.isfinite(var) else None
    return ZphSmooth(grid, fit, se, df_used)


def scatter_indices(x: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of the events drawn as points: all, or every k-th in time order above ``max_points``.

    A systematic sample along time keeps the density of points over time and the
    spread of the residuals, and is the same on every run.
    """
    x = np.asarray(x, dtype=float)
    if x.size <= max_points:
        return np.arange(x.size)
    order = np.argsort(x, kind="stable")
    picks = np.round(np.linspace(0, x.size - 1, max_points)).astype(int)
    return np.sort(order[picks])


# ---------------------------------------------------------------------------
# Figure
# ---------------------------------------------------------------------------


def zph_figure(
    x: np.ndarray,
    residuals: np.ndarray,
    term_labels: Sequence[str],
    coef: Sequence[float] | None = None,
    p_values: Sequence[str] | None = None,
    *,
    x_label: str,
    y_label: str = "Beta(t)",
    resid_var: Sequence[float] | None = None,
    max_points: int = 2000,
    style: FigureStyle = FigureStyle(),  # noqa: B008 - frozen, immutable default
) -> Figure:
    """Scaled Schoenfeld residuals against time, one panel per term (up to 3 per row).

    ``residuals`` is (n_events, n_terms); ``coef`` draws a dashed line per panel;
    ``p_values`` are shown as given (e.g. "p = 0.21") in each panel's top right
    corner; ``resid_var`` (one per term, R's ``diag(cox.zph(fit)$var)``) makes
    the band R's exactly. ``y_label`` goes on the first panel of each row.
    """
    x = np.asarray(x, dtype=float)
    res = np.asarray(residuals, dtype=float)
    if res.ndim == 1:
        res = res[:, None]
    n_terms = len(term_labels)
    problems = []
    if x.ndim != 1 or res.ndim != 2 or res.shape != (x.size, n_terms):
        problems.append(f"residuals must be (n_events, n_terms) = ({x.size}, {n_terms}), got {res.shape}")
    for name, seq in (("coef", coef), ("p_values", p_values), ("resid_var", resid_var)):
        if seq is not None and len(seq) != n_terms:
            problems.append(f"{name} has {len(seq)} entries for {n_terms} terms")
    if n_terms == 0:
        problems.append("no terms to plot")
    if x.size and not np.all(np.isfinite(x)):
        problems.append("event times must be finite")
    if max_points < 1:
        problems.append(f"max_points must be >= 1, got {max_points}")
    if problems:
        raise ValueError("; ".join(problems))
    with matplotlib.style.context(["default", style.rc()]):
        return _draw(
            x, res, list(term_labels), coef, p_values, resid_var,
            x_label=x_label, y_label=y_label, max_points=max_points, style=style,
        )  # fmt: skip


def _draw(
    x: np.ndarray,
    res: np.ndarray,
    labels: list[str],
    coef: Sequence[float] | None,
    p_values: Sequence[str] | None,
    resid_var: Sequence[float] | None,
    *,
    x_label: str,
    y_label: str,
    max_points: int,
    style: FigureStyle,
) -> Figure:
    fs = style.font_size_pt
    n_terms = len(labels)
    n_cols = min(_MAX_COLUMNS, n_terms)
    n_rows = math.ceil(n_terms / n_cols)
    panel_w_in = style.width_in / n_cols
    panel_h_in = min(0.9 * panel_w_in, style.width_in * style.height_ratio)
    fig = Figure(figsize=(style.width_in, panel_h_in * n_rows), dpi=style.dpi, layout="constrained")
    fig.get_layout_engine().set(w_pad=4 / 72, h_pad=4 / 72, wspace=0.06, hspace=0.06)
    fig.patch.set_facecolor("white")
    ruler = TextRuler(fig, style.font_family)
    grid = fig.add_gridspec(n_rows, n_cols)
    shown = scatter_indices(x, max_points)
    colour = style.colour(0)
    panels: list[tuple[Axes, str, str, float]] = []
    for k, label in enumerate(labels):
        ax = fig.add_subplot(grid[k // n_cols, k % n_cols])
        ax.set_label(ZPH_AXES)
        y = res[:, k]
        data_top = _panel(
            ax, x, y, np.isfinite(y), shown, colour,
            coef=None if coef is None else float(coef[k]),
            resid_var=None if resid_var is None else float(resid_var[k]),
            style=style,
        )  # fmt: skip
        p_text = p_values[k] if p_values is not None else ""
        panels.append((ax, label, p_text, data_top))
        if k + n_cols >= n_terms:  # the lowest panel of its column
            ax.set_xlabel(x_label, fontsize=fs, fontfamily=style.font_family)
        if k % n_cols == 0:
            ax.set_ylabel(y_label, fontsize=fs, fontfamily=style.font_family)
    # Lay out, then wrap each title to its axes' width and give the p text a
    # strip at the top of the panel, above every point, line and band; lay out
    # again (the strip can change the ticks) and fit the strip once more.
    pad = _P_PAD_EM * fs
    px = fig.dpi / 72.0
    fig.draw_without_rendering()
    for ax, label, p_text, _ in panels:
        width = ax.get_window_extent().width / px
        title = ruler.wrap(label, width, fs, balanced=True, weight="bold")
        ax.set_title(title, loc="left", fontsize=fs, fontweight="bold", fontfamily=style.font_family)
        if p_text:
            ax.text(
                1.0, 1.0, p_text, transform=ax.transAxes + ScaledTranslation(-pad / 72, -pad / 72, fig.dpi_scale_trans),
                ha="right", va="top", fontsize=fs, fontfamily=style.font_family, gid=P_GID,
            )  # fmt: skip
    for _ in range(2):
        fig.draw_without_rendering()
        for ax, _, p_text, data_top in panels:
            if p_text:
                strip = ruler.extent(p_text, fs)[1] + 2 * pad
                _reserve_top(ax, data_top, strip * px)
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    return fig


def _reserve_top(ax: Axes, data_top: float, strip_px: float) -> None:
    """Raise the upper y limit so that the top ``strip_px`` pixels of the axes hold no data."""
    bottom, top = ax.get_ylim()
    height = ax.get_window_extent().height
    if height <= strip_px:
        return
    needed = bottom + (data_top - bottom) * height / (height - strip_px)
    if needed > top:
        ax.set_ylim(bottom, needed)


def _panel(
    ax: Axes,
    x: np.ndarray,
    y: np.ndarray,
    ok: np.ndarray,
    shown: np.ndarray,
    colour: str,
    *,
    coef: float | None,
    resid_var: float | None,
    style: FigureStyle,
) -> float:
    """Draw one term's panel; return the highest y drawn (points, smooth, band, coefficient)."""
    lw = style.line_width_pt
    pts = shown[ok[shown]]
    ax.scatter(
        x[pts], y[pts], s=_POINT_SIZE_PT**2, color=_POINT_GREY, alpha=_POINT_ALPHA,
        linewidths=0, zorder=1, gid=POINTS_GID,
    )  # fmt: skip
    lows, highs = [y[ok]], [y[ok]]
    if np.any(ok):
        sm = zph_smooth(x[ok], y[ok], resid_var=resid_var)
        if sm.se is not None:
            lo, hi = sm.fit - 2 * sm.se, sm.fit + 2 * sm.se
            ax.fill_between(
                sm.grid, lo, hi, color=colour, alpha=style.ci_alpha, linewidth=0, zorder=2,
                gid=BAND_GID,
            )  # fmt: skip
            lows.append(lo)
            highs.append(hi)
        ax.plot(sm.grid, sm.fit, color=colour, linewidth=lw, zorder=3, gid=SMOOTH_GID)
        lows.append(sm.fit)
        highs.append(sm.fit)
    if coef is not None and math.isfinite(coef):
        ax.axhline(
            coef, color="black", linewidth=0.8 * lw, linestyle=(0, (4, 3)), zorder=2.5,
            gid=COEF_GID,
        )  # fmt: skip
        lows.append(np.array([coef]))
        highs.append(np.array([coef]))
    y_lo = float(np.min(np.concatenate(lows))) if any(a.size for a in lows) else -1.0
    y_hi = float(np.max(np.concatenate(highs))) if any(a.size for a in highs) else 1.0
    span = y_hi - y_lo if y_hi > y_lo else max(abs(y_hi), 1.0)
    ax.set_ylim(y_lo - 0.04 * span, y_hi + 0.04 * span)
    if x.size:
        x_lo, x_hi = float(np.min(x)), float(np.max(x))
        x_span = x_hi - x_lo if x_hi > x_lo else max(abs(x_hi), 1.0)
        ax.set_xlim(x_lo - 0.02 * x_span, x_hi + 0.02 * x_span)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_linewidth(style.axis_line_width_pt)
    ax.tick_params(
        axis="both", which="major", direction="out", length=3.0, width=style.axis_line_width_pt,
        pad=2.5, labelsize=style.font_size_pt, labelfontfamily=style.font_family,
    )  # fmt: skip
    ax.set_facecolor("none")
    return y_hi
