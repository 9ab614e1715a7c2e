"""Figure style: an explicit, immutable set of print dimensions, fonts and colours in; rc settings out.

Nothing here touches matplotlib's global ``rcParams``. Figure builders take a
``FigureStyle`` and apply it through explicit artist properties and, where
matplotlib only reads rc settings (tick creation, hatch and marker defaults),
through a local ``matplotlib.rc_context(style.rc())``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MM_PER_INCH = 25.4

#: Okabe & Ito (2008) colourblind-safe palette, ordered so that the first
#: colours contrast well with each other and with white (yellow last: it is
#: hard to read as text on white).
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)

#: Smallest font size (points, at print size) any journal accepts.
MIN_FONT_PT = 6.0


@dataclass(frozen=True)
class FigureStyle:
    """Print size, fonts, line widths and colours of a figure.

    ``width_mm`` is the printed width (170 mm: a double-column figure; 85 mm:
    a single column). The curve area of each panel is
    ``width_mm * height_ratio / sqrt(n_panels)`` high; tables below it (numbers
    at risk) add their own height. Sizes are in points at print size.
    """

    width_mm: float = 170.0
    height_ratio: float = 0.55
    font_family: str = "DejaVu Sans"
    font_size_pt: float = 8.0
    line_width_pt: float = 1.0
    axis_line_width_pt: float = 0.6
    palette: tuple[str, ...] = OKABE_ITO
    ci_alpha: float = 0.18
    dpi: int = 300
    censor_marker: str = "|"
    censor_marker_size_pt: float = 4.0
    #: At most this many censoring marks per curve (a representative subset beyond).
    max_censor_marks: int = 200
    #: At most this many step points per curve (steps under half a pixel are merged).
    max_points: int = 1500  # per curve: keeps a 10^6-patient KM SVG under 0.5 MB, steps finer than 1.5 px merge

    def __post_init__(self) -> None:
        problems = []
        if not self.width_mm > 0:
            problems.append(f"width_mm must be positive, got {self.width_mm!r}")
        if not self.height_ratio > 0:
            problems.append(f"height_ratio must be positive, got {self.height_ratio!r}")
        if not self.font_size_pt >= MIN_FONT_PT:
            problems.append(
                f"font_size_pt must be at least {MIN_FONT_PT:g} pt at print size, got {self.font_size_pt!r}"
            )
        if not self.palette:
            problems.append("palette must hold at least one colour")
        if not 0.0 <= self.ci_alpha <= 1.0:
            problems.append(f"ci_alpha must be between 0 and 1, got {self.ci_alpha!r}")
        if not self.dpi >= 72:
            problems.append(f"dpi must be at least 72, got {self.dpi!r}")
        if self.max_points < 4:
            problems.append(f"max_points must be at least 4, got {self.max_points!r}")
        if self.max_censor_marks < 0:
            problems.append(f"max_censor_marks must be >= 0, got {self.max_censor_marks!r}")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def width_in(self) -> float:
        """Printed width in inches (matplotlib's unit for figure sizes)."""
        return self.width_mm / MM_PER_INCH

    def colour(self, i: int) -> str:
        """The i-th group's colour, cycling through the palette."""
        return self.palette[i % len(self.palette)]

    def rc(self) -> dict[str, Any]:
        """rc settings for a local ``matplotlib.rc_context`` while a figure is built."""
        return {
            "font.family": [self.font_family],
            "font.size": self.font_size_pt,
            "axes.linewidth": self.axis_line_width_pt,
            "axes.labelsize": self.font_size_pt,
            "axes.titlesize": self.font_size_pt,
            "xtick.labelsize": self.font_size_pt,
            "ytick.labelsize": self.font_size_pt,
            "xtick.major.width": self.axis_line_width_pt,
            "ytick.major.width": self.axis_line_width_pt,
            "xtick.major.size": 3.0,
            "ytick.major.size": 3.0,
            "legend.fontsize": self.font_size_pt,
            "lines.linewidth": self.line_width_pt,
            "figure.dpi": self.dpi,
            "savefig.dpi": self.dpi,
            "svg.fonttype": "none",
            "svg.hashsalt": "reportgen",
            "pdf.fonttype": 42,
        }
