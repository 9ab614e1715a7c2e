"""Participant flow diagram: counts shown, one box per stage, text inside its box, no overlaps."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from reportgen.figures.export import figure_bytes
from reportgen.figures.flow import BOX_GID, TEXT_GID, count_text, flow_figure
from reportgen.figures.style import FigureStyle
from tests.unit.test_figures_forest import drawn_texts, render, text_overlaps, texts_outside_figure

STEPS = [
    ("Histology other than SCLC", 6),
    # About 60 characters, and one longer still: both must fit their box.
    ("Thoracic radiotherapy given before first-line systemic therapy", 7),
    ("No follow-up visit after the first cycle of chemotherapy, or the only follow-up "
     "recorded by telephone without a date", 5),
]  # fmt: skip
GROUPS = [("CIT", 44), ("CT", 30)]


@pytest.fixture(scope="module")
def fig() -> Figure:
    return flow_figure(92, STEPS, GROUPS)


def _boxes(fig: Figure) -> dict[str, Rectangle]:
    prefix = BOX_GID.format("")
    return {
        p.get_gid()[len(prefix):]: p
        for p in fig.findobj(Rectangle)
        if (p.get_gid() or "").startswith(prefix)
    }  # fmt: skip


def _texts_in(fig: Figure, part: str) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_gid() == TEXT_GID.format(part)]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_counts_appear(fig):
    shown = [_flat(t.get_text()) for t in drawn_texts(fig)]
    assert "Patients assessed for eligibility (n = 92)" in shown
    assert "Excluded (n = 18)" in shown
    assert "Included in the analysis (n = 74)" in shown
    assert "CIT (n = 44)" in shown and "CT (n = 30)" in shown
    for reason, n in STEPS:
        assert f"{_flat(reason)} ({count_text(n)})" in shown
    assert shown.count("\u2022") == len(STEPS)


def test_one_box_per_stage(fig):
    assert sorted(_boxes(fig)) == ["assessed", "excluded", "group-0", "group-1", "included"]
    assert len(_boxes(fig)) == 2 + len(GROUPS) + 1
    no_steps = flow_figure(74, [], GROUPS)
    assert sorted(_boxes(no_steps)) == ["assessed", "group-0", "group-1", "included"]
    shown = [_flat(t.get_text()) for t in drawn_texts(no_steps)]
    assert "Included in the analysis (n = 74)" in shown
    assert not any(s.startswith("Excluded") for s in shown)
    three = flow_figure(92, STEPS[:1], [("A", 30), ("B", 30), ("C", 26)])
    assert len(_boxes(three)) == 2 + 3 + 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: flow_figure(92, STEPS, GROUPS),
        lambda: flow_figure(92, [], [("Chemo-immunotherapy with atezolizumab", 40),
                                     ("Chemotherapy alone", 30), ("Other", 22)]),
        lambda: flow_figure(92, STEPS, GROUPS, style=FigureStyle(width_mm=85.0)),
        lambda: flow_figure(10, [("x", 10)], []),
    ],
    ids=["steps", "three-groups", "single-column", "no-groups"],
)  # fmt: skip
def test_no_overlap_and_every_text_inside_its_box(make):
    fig = make()
    assert text_overlaps(fig) == []
    assert texts_outside_figure(fig) == []
    renderer = render(fig).get_renderer()
    boxes = _boxes(fig)
    for part, box in boxes.items():
        frame = box.get_window_extent(renderer)
        texts = _texts_in(fig, part)
        assert texts, part
        for t in texts:
            b = t.get_window_extent(renderer)
            assert frame.x0 <= b.x0 and b.x1 <= frame.x1, (part, t.get_text())
            assert frame.y0 <= b.y0 and b.y1 <= frame.y1, (part, t.get_text())
    # The boxes do not overlap each other either.
    frames = [b.get_window_extent(renderer) for b in boxes.values()]
    for i, a in enumerate(frames):
        for b in frames[i + 1 :]:
            assert not (min(a.x1, b.x1) > max(a.x0, b.x0) and min(a.y1, b.y1) > max(a.y0, b.y0))


def test_long_reason_wraps_inside_a_box_narrower_than_the_figure(fig):
    longest = [t for t in _texts_in(fig, "excluded") if "telephone" in t.get_text()]
    assert len(longest) == 1 and "\n" in longest[0].get_text()
    renderer = render(fig).get_renderer()
    assert _boxes(fig)["excluded"].get_window_extent(renderer).width < 0.6 * fig.bbox.width


def test_counts_must_add_up():
    with pytest.raises(ValueError, match="groups hold 70 patients but 92 assessed minus 18"):
        flow_figure(92, STEPS, [("CIT", 40), ("CT", 30)])
    with pytest.raises(ValueError, match="exclude 18 patients but only 10 were assessed"):
        flow_figure(10, STEPS, [])
    with pytest.raises(ValueError, match="integer >= 0"):
        flow_figure(10, [("x", -1)], [])


def test_svg_is_deterministic(fig):
    assert figure_bytes(fig, "svg") == figure_bytes(flow_figure(92, STEPS, GROUPS), "svg")
