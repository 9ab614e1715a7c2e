"""Submission figures: file set and names, raster sizes and resolutions, TIFF compression, PDF fonts
embedded as TrueType (Type 42), byte-identical reruns, text of at least 6 pt at 85 mm, no colliding
text, the Okabe-Ito palette, the spec options, and the wiring into the output files."""

from __future__ import annotations

import io
import re

import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from PIL import Image
from pydantic import ValidationError
from pypdf import PdfReader

from reportgen.build import finite, render_files, validate
from reportgen.figures.km import CURVES_AXES
from reportgen.figures.report_figures import all_figures, km_endpoint_figure, zph_endpoint_figure
from reportgen.figures.style import MIN_FONT_PT, OKABE_ITO, FigureStyle
from reportgen.figures.submission import (
    SUBMISSION_FOLDER,
    drawn_texts,
    encode,
    rasterise,
    submission_figures,
    submission_name,
    text_problems,
)
from reportgen.format import NumberStyle
from reportgen.render.report import Report
from reportgen.spec.model import FigureOptions, Study
from tests.conftest import EXAMPLE
from tests.unit.test_figures_forest import drawn_texts as drawn_texts_by_ticks

STYLE = NumberStyle()
WIDTHS = (85, 170)
DPIS = (300, 600)


@pytest.fixture(scope="module")
def example() -> tuple[Study, dict]:
    from reportgen.analysis.runner import run_analyses

    study, cohort = validate(EXAMPLE)
    return study, finite(run_analyses(study, cohort))


@pytest.fixture(scope="module")
def os_only(example) -> dict:
    """The example's results with overall survival only: flow, KM and forest figures, fewer to draw."""
    _, results = example
    return {**results, "endpoints": {"os": results["endpoints"]["os"]}}


@pytest.fixture(scope="module")
def default_set(os_only) -> tuple[dict[str, bytes], list[str]]:
    return submission_figures(os_only, FigureOptions(submission=True), STYLE, supplement=False)


def _name(fid: str, width: float, fmt: str, dpi: int | None = None) -> str:
    return f"{SUBMISSION_FOLDER}/{fid}_{width}mm{f'_{dpi}dpi' if dpi else ''}.{fmt}"


def test_file_set(default_set):
    files, warnings = default_set
    expected = set()
    for fid, widths in {"flow": WIDTHS, "km_os": WIDTHS, "forest_os": (170,)}.items():
        for w in widths:
            expected |= {_name(fid, w, "svg"), _name(fid, w, "pdf")}
            expected |= {_name(fid, w, fmt, dpi) for fmt in ("png", "tiff") for dpi in DPIS}
    assert set(files) == expected
    # The forest plot's four text columns do not fit a single column, even at 6 pt: left out, and said.
    assert len(warnings) == 1
    assert warnings[0].startswith("no 85 mm version of figure forest_os: the text columns need")


def test_names():
    assert submission_name("km_os", 85.0, "svg") == "figures/submission/km_os_85mm.svg"
    assert submission_name("km_os_by_line of therapy", 89.5, "tiff", 600) == (
        "figures/submission/km_os_by_line_of_therapy_89.5mm_600dpi.tiff"
    )


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("dpi", DPIS)
def test_png_and_tiff_sizes_and_resolution(default_set, width, dpi):
    files, _ = default_set
    png = Image.open(io.BytesIO(files[_name("km_os", width, "png", dpi)]))
    tiff = Image.open(io.BytesIO(files[_name("km_os", width, "tiff", dpi)]))
    assert png.format == "PNG" and tiff.format == "TIFF"
    assert png.mode == tiff.mode == "RGB"
    # Pixel width = printed width in inches x dpi (Agg truncates the fraction of a pixel).
    assert png.width == int(width / 25.4 * dpi)
    assert abs(png.width - width / 25.4 * dpi) < 1
    assert tiff.size == png.size
    assert png.info["dpi"] == pytest.approx((dpi, dpi), abs=0.01)  # PNG stores pixels per metre
    assert tiff.info["dpi"] == (dpi, dpi)
    assert tiff.info["compression"] == "tiff_lzw"
    tiff.load()  # decodes
    assert tiff.getpixel((0, 0)) == (255, 255, 255)
    assert png.tobytes() == tiff.tobytes()  # the same raster in both files


@pytest.mark.parametrize("width", WIDTHS)
def test_vector_files(default_set, width):
    files, _ = default_set
    pdf = files[_name("km_os", width, "pdf")]
    assert pdf.startswith(b"%PDF")
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert float(page.mediabox.width) == pytest.approx(width / 25.4 * 72)
    fonts = [f.get_object() for f in page["/Resources"]["/Font"].values()]
    assert fonts and b"/Type3" not in pdf
    for font in fonts:
        # Type 42: the TrueType outlines embedded (a CID-keyed TrueType font with /FontFile2).
        assert font["/Subtype"] == "/Type0"
        descendant = font["/DescendantFonts"][0].get_object()
        assert descendant["/Subtype"] == "/CIDFontType2"
        assert "/FontFile2" in descendant["/FontDescriptor"].get_object()
        assert "DejaVuSans" in font["/BaseFont"]
    assert b"CreationDate" not in pdf and b"ModDate" not in pdf
    svg = files[_name("km_os", width, "svg")].decode("utf-8")
    assert f'width="{width / 25.4 * 72:.6f}pt"' in svg
    assert "<dc:date>" not in svg
    assert "Log-rank p = 0.328" in svg  # text kept as text


def test_bytes_are_identical_on_a_rerun(os_only, default_set):
    files, _ = default_set
    again, _ = submission_figures(
        os_only, FigureOptions(widths_mm=[85], dpi=[300]), STYLE, supplement=False
    )  # built again from the Results
    assert set(again) == {n for n in files if "_85mm" in n and "600dpi" not in n}
    assert all(again[n] == files[n] for n in again)


def test_formats_and_dpi_follow_the_options(os_only):
    files, _ = submission_figures(
        os_only, FigureOptions(widths_mm=[85], dpi=[450], formats=["tiff"]), STYLE, supplement=False
    )
    assert sorted(files) == [_name(f, 85, "tiff", 450) for f in ("flow", "km_os")]
    assert Image.open(io.BytesIO(files[_name("flow", 85, "tiff", 450)])).info["dpi"] == (450, 450)


@pytest.fixture(scope="module")
def zph_85(example):
    _, results = example
    return zph_endpoint_figure(results, "os", STYLE, FigureStyle(width_mm=85))


def test_text_at_85_mm_is_at_least_6_pt(os_only, zph_85):
    """Every text each figure draws, read from its Text artists, at the single-column width."""
    style = FigureStyle(width_mm=85)
    skipped: list[str] = []
    figures = all_figures(os_only, STYLE, style, None, "line_of_therapy", skipped)
    assert [f.id for f in figures] == ["flow", "km_os", "km_os_by_line_of_therapy"]
    assert [s.split(":")[0] for s in skipped] == ["forest_os"]
    for rendered in [*figures, zph_85]:
        sizes = [t.get_fontsize() for t, _ in drawn_texts(rendered.figure)]
        assert len(sizes) >= 5, rendered.id
        assert min(sizes) >= MIN_FONT_PT, rendered.id
        assert min(sizes) == style.font_size_pt, rendered.id  # 8 pt: nothing shrinks below the style


def test_drawn_texts_are_the_visible_ones(os_only, zph_85):
    """The texts noted while drawing (multi-line ones included) are those an independent count finds
    (visible texts, tick labels only inside the view: the residual plots' automatic ticks go beyond)."""
    km = km_endpoint_figure(os_only, "os", STYLE, FigureStyle(width_mm=85)).figure
    for fig in (km, zph_85.figure):
        ours = sorted(t.get_text() for t, _ in drawn_texts(fig))
        assert ours == sorted(t.get_text() for t in drawn_texts_by_ticks(fig))
    assert "Log-rank p = 0.328\nHR 0.76 (95% CI 0.45–1.31)" in [t.get_text() for t, _ in drawn_texts(km)]


def test_text_problems():
    fig = Figure(figsize=(3, 2), dpi=100)
    fig.text(0.1, 0.8, "fine", fontsize=8)
    assert text_problems(fig) == []
    fig.text(0.1, 0.5, "tiny", fontsize=5)
    fig.text(0.5, 0.2, "12", fontsize=8, ha="right")
    fig.text(0.5, 0.2, "18", fontsize=8, ha="left")  # touching: reads "1218"
    fig.text(0.98, 0.9, "beyond the edge", fontsize=8)
    problems = text_problems(fig)
    assert "text 'tiny' is 5 pt (at least 6 pt)" in problems
    assert "texts '12' and '18' collide" in problems
    assert "text 'beyond the edge' is cut off at the edge" in problems
    assert len(problems) == 3


def test_crowded_figures_are_found(zph_85, default_set):
    """Scaled Schoenfeld plots (six panels) crowd their tick labels at 85 mm; the figures written at
    170 mm (test_file_set) passed the same check."""
    assert any(re.fullmatch(r"texts '.+' and '.+' collide", p) for p in text_problems(zph_85.figure))


def test_okabe_ito_palette(os_only):
    """The group curves are drawn in the Okabe-Ito colours (first blue, then vermillion)."""
    fig = km_endpoint_figure(os_only, "os", STYLE, FigureStyle(width_mm=85)).figure
    ax = next(a for a in fig.axes if a.get_label() == CURVES_AXES)
    curves = [to_hex(line.get_color()).upper() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert curves == [OKABE_ITO[0], OKABE_ITO[1]]


def test_raster_encoding_is_deterministic():
    fig = Figure(figsize=(85 / 25.4, 1), dpi=300)
    fig.text(0.5, 0.5, "x", fontsize=8)
    a, b = rasterise(fig, 300), rasterise(fig, 300)
    assert a.size == (1003, 300)
    assert encode(a, "tiff", 300) == encode(b, "tiff", 300)
    assert encode(a, "png", 300) == encode(b, "png", 300)
    with pytest.raises(ValueError, match="unsupported raster format 'jpg'"):
        encode(a, "jpg", 300)  # type: ignore[arg-type]


def test_spec_options():
    options = FigureOptions()
    assert not options.submission
    assert options.widths_mm == [85, 170] and options.dpi == [300, 600]
    assert options.formats == ["svg", "pdf", "png", "tiff"]
    with pytest.raises(ValidationError, match="figures.dpi lists a value twice"):
        FigureOptions(dpi=[300, 300])
    with pytest.raises(ValidationError, match="greater than or equal to 300"):
        FigureOptions(dpi=[150])
    with pytest.raises(ValidationError, match="greater than or equal to 40"):
        FigureOptions(widths_mm=[20])
    with pytest.raises(ValidationError, match="'svg', 'pdf', 'png' or 'tiff'"):
        FigureOptions(formats=["eps"])
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        FigureOptions(width_mm=[85])


def test_render_files_writes_them_only_when_asked(example, os_only, monkeypatch):
    """render_files adds the study's submission figures (and their warnings) when figures.submission is on."""
    import reportgen.figures.submission as submission

    calls = []

    def fake(study, results):
        calls.append(study.figures)
        return {_name("km_os", 85, "svg"): b"<svg/>"}, ["no 85 mm version of figure forest_os: too wide"]

    monkeypatch.setattr(submission, "study_submission_figures", fake)
    study, _ = example
    report = Report(html="", tables=[], figures=[])
    files, warnings = render_files(study, os_only, report, formats=[])
    assert calls == [] and not any(name.startswith(SUBMISSION_FOLDER) for name in files)
    asked = study.model_copy(update={"figures": FigureOptions(submission=True)})
    files, warnings = render_files(asked, os_only, report, formats=[])
    assert calls == [FigureOptions(submission=True)]
    assert files[_name("km_os", 85, "svg")] == b"<svg/>"
    assert warnings == ["Submission figures: no 85 mm version of figure forest_os: too wide"]


def test_only_manuscripts_get_them(example, os_only):
    from reportgen.figures.submission import study_submission_figures

    study, _ = example
    other = study.model_construct(**{**dict(study), "kind": "institutional"})
    assert study_submission_figures(other, os_only) == (
        {}, ["figures.submission applies to manuscripts; no submission figures for kind 'institutional'"],
    )  # fmt: skip
