"""Word manuscript: an in-memory ``Report`` (HTML text, Table models, rendered figures) in; DOCX bytes out.

Tool: python-docx. It is pure Python (lxml is its only compiled dependency, with
wheels everywhere), so ``reportgen render --format docx`` works on any machine
that runs reportgen, with no pandoc or LibreOffice binary to install. It also
writes Word's own structures directly: named paragraph styles, repeating header
rows (``w:tblHeader``), rows that cannot split (``w:cantSplit``), merged spanner
cells, page fields and picture alt text. A pandoc route would need a binary on
every machine and would rebuild the tables from the HTML, losing those
properties unless a Lua filter put them back.

What is read: the report's own HTML gives the order and the words (headings,
paragraphs with bold and italic, lists); each ``<figure class="table">`` becomes
a real Word table built from its ``Table`` model (not from the HTML), and each
``<figure class="figure">`` the figure's 300-dpi PNG at text width with its
caption and alt text. As journals ask, the title page and the abstract stand on
pages of their own, and the tables (one per page) and then the figures follow
the main text, before the appendix. A plain HTML table (the reproducibility
appendix) becomes a simple unnumbered Word table.

Every paragraph uses a named style (Title, Heading 1-3, Caption, "Table Text",
"Table Footnote", "Figure", "Author Line"), so a journal's layout is applied by
editing those styles in Word. Same input, same bytes: core-property dates come
from ``SOURCE_DATE_EPOCH`` (or a constant) and the ZIP container is rewritten
with fixed member timestamps.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_COLOR_INDEX
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Pt, RGBColor

from ..figures.report_figures import RenderedFigure
from ..tables.model import Row, Table
from .report import Report

#: Used when SOURCE_DATE_EPOCH is not set: any fixed date keeps the output reproducible.
DEFAULT_DATE = datetime(2000, 1, 1, tzinfo=UTC)

PAGE_SIZES: dict[str, tuple[Emu, Emu]] = {
    "A4": (Cm(21.0), Cm(29.7)),
    "LETTER": (Emu(int(8.5 * 914400)), Emu(11 * 914400)),
}
MARGIN = Cm(2.5)

BODY_FONT = "Times New Roman"
LANGUAGE = "en-GB"
TABLE_PT = 9.0
_CELL_PAD = Cm(0.35)
_INDENT_STEP = Cm(0.35)

_BLACK = RGBColor(0, 0, 0)
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_SKIP = {"head", "style", "script", "title", "template", "noscript"}
_CONTAINERS = {"html", "body", "main", "section", "article", "header", "footer", "div", "nav", "aside", "figure"}
_HEADING_STYLE = {"h1": "Heading 1", "h2": "Heading 1", "h3": "Heading 2", "h4": "Heading 3", "h5": "Heading 4"}
_MARKER = re.compile(r"^(.*\S) ([a-z])$")
_NOTE_MARKER = re.compile(r"^([a-z]) (.+)$", re.S)


# ---------------------------------------------------------------- reproducibility


def source_date(environ: Mapping[str, str] | None = None) -> datetime:
    """The build date for file metadata: ``SOURCE_DATE_EPOCH`` (seconds, UTC) if set, else ``DEFAULT_DATE``."""
    value = (os.environ if environ is None else environ).get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return DEFAULT_DATE
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise ValueError(f"SOURCE_DATE_EPOCH must be an integer number of seconds, got {value!r}") from exc


def reproducible_zip(data: bytes, when: datetime, replace: Mapping[str, bytes] | None = None) -> bytes:
    """Rewrite a ZIP container (DOCX, XLSX) with fixed member timestamps and attributes, same member order.

    ``replace`` swaps the content of named members (e.g. a core.xml holding a wall-clock date).
    ZIP cannot store dates before 1980, so earlier dates are clamped.
    """
    stamp = max(when.astimezone(UTC).replace(tzinfo=None), datetime(1980, 1, 1))
    date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    replace = replace or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            dst.writestr(info, replace.get(name, src.read(name)), compresslevel=6)
    return out.getvalue()


# ---------------------------------------------------------------- a small HTML tree


@dataclass
class Node:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, tag: str) -> Iterator[Node]:
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag:
                    yield child
                yield from child.find_all(tag)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching element; a stray end tag is ignored.
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(html: str) -> Node:
    """The report HTML as a tree of ``Node`` (tag, attrs, children); entities decoded."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


# ---------------------------------------------------------------- inline text


@dataclass(frozen=True)
class Span:
    text: str
    bold: bool = False
    italic: bool = False
    superscript: bool = False
    subscript: bool = False
    mono: bool = False
    placeholder: bool = False  # text for the authors to replace, highlighted so that it is not missed


def inline_spans(node: Node) -> list[Span]:
    """The text of an element as formatted spans, HTML whitespace collapsed and trimmed."""
    raw: list[Span] = []

    def walk(n: Node, fmt: dict[str, bool]) -> None:
        for child in n.children:
            if isinstance(child, str):
                raw.append(Span(child, **fmt))
                continue
            if child.tag in _SKIP:
                continue
            if child.tag == "br":
                raw.append(Span("\n", **fmt))
                continue
            sub = dict(fmt)
            if child.tag in {"strong", "b"} or "label" in child.classes:
                sub["bold"] = True
            if child.tag in {"em", "i", "cite"}:
                sub["italic"] = True
            if child.tag == "sup":
                sub["superscript"] = True
            if child.tag == "sub":
                sub["subscript"] = True
            if child.tag in {"code", "kbd", "samp"} or "mono" in child.classes:
                sub["mono"] = True
            if "placeholder" in child.classes:
                sub["placeholder"] = True
            walk(child, sub)

    walk(node, {"mono": "mono" in node.classes, "placeholder": "placeholder" in node.classes})
    spans: list[Span] = []
    space_pending = False
    for s in raw:
        if s.text == "\n":
            spans.append(s)
            space_pending = False
            continue
        words = s.text.split()
        if not words:
            space_pending = space_pending or bool(s.text)
            continue
        lead = s.text[0].isspace()
        text = " ".join(words)
        if (lead or space_pending) and spans and spans[-1].text != "\n":
            text = " " + text
        space_pending = s.text[-1].isspace()
        spans.append(replace(s, text=text))
    return spans


def add_spans(paragraph: Any, spans: list[Span]) -> None:
    for s in spans:
        if s.text == "\n":
            paragraph.add_run().add_break(WD_BREAK.LINE)
            continue
        run = paragraph.add_run(s.text)
        run.bold = s.bold or None
        run.italic = s.italic or None
        if s.superscript:
            run.font.superscript = True
        if s.subscript:
            run.font.subscript = True
        if s.placeholder:
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW
        if s.mono:
            run.font.name = "Courier New"


# ---------------------------------------------------------------- styles and page set-up


def _set_font(style: Any, name: str | None = None, size: float | None = None) -> None:
    """Set a style's font, dropping theme-font attributes (which would otherwise win over the name)."""
    font = style.font
    if name is not None:
        font.name = name
        rfonts = style.element.rPr.find(qn("w:rFonts"))
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            rfonts.attrib.pop(qn(attr), None)
        rfonts.set(qn("w:cs"), name)
    if size is not None:
        font.size = Pt(size)
    font.color.rgb = _BLACK


def _paragraph_style(doc: Any, name: str, base: str = "Normal") -> Any:
    styles = doc.styles
    if name in [s.name for s in styles]:
        return styles[name]
    style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = styles[base]
    style.quick_style = True
    return style


def _document_defaults(styles_el: Any) -> None:
    """Default run font and language for text outside any style (the template's are Calibri, US English;
    the report's words are British English)."""
    rpr = styles_el.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    rfonts = rpr.find(qn("w:rFonts"))
    for attr in list(rfonts.attrib):
        del rfonts.attrib[attr]
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        rfonts.set(qn(attr), BODY_FONT)
    lang = rpr.find(qn("w:lang"))
    lang.set(qn("w:val"), LANGUAGE)


def setup_styles(doc: Any, line_spacing: float) -> None:
    """Manuscript styles: serif body, black headings, single-spaced tables and captions."""
    styles = doc.styles
    _document_defaults(styles.element)
    normal = styles["Normal"]
    _set_font(normal, BODY_FONT, 12)
    pf = normal.paragraph_format
    pf.line_spacing = line_spacing
    pf.space_before = Pt(0)
    pf.space_after = Pt(6)
    pf.widow_control = True

    title = styles["Title"]
    _set_font(title, BODY_FONT, 16)
    title.font.bold = True
    title.font.all_caps = False
    ppr = title.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):
        ppr.remove(border)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    title.paragraph_format.space_after = Pt(12)
    title.paragraph_format.line_spacing = 1.15
    for tag in ("w:spacing", "w:kern", "w:szCs"):  # the template's letter-spacing and kerning of the title
        for el in title.element.rPr.findall(qn(tag)):
            title.element.rPr.remove(el)

    for level, size, italic in ((1, 14, False), (2, 12, False), (3, 12, True), (4, 12, True)):
        h = styles[f"Heading {level}"]
        _set_font(h, BODY_FONT, size)
        h.font.bold = True
        h.font.italic = italic
        h.paragraph_format.space_before = Pt(18 if level == 1 else 12)
        h.paragraph_format.space_after = Pt(6)
        h.paragraph_format.line_spacing = 1.15
        h.paragraph_format.keep_with_next = True

    author = _paragraph_style(doc, "Author Line")
    author.paragraph_format.space_after = Pt(12)

    caption = styles["Caption"]
    _set_font(caption, BODY_FONT, 10)
    caption.font.bold = False
    caption.font.italic = False
    caption.paragraph_format.line_spacing = 1.0
    caption.paragraph_format.space_before = Pt(6)
    caption.paragraph_format.space_after = Pt(6)

    table_text = _paragraph_style(doc, "Table Text")
    _set_font(table_text, BODY_FONT, TABLE_PT)
    tpf = table_text.paragraph_format
    tpf.line_spacing = 1.0
    tpf.space_before = Pt(1)
    tpf.space_after = Pt(1)

    note = _paragraph_style(doc, "Table Footnote")
    _set_font(note, BODY_FONT, 8)
    npf = note.paragraph_format
    npf.line_spacing = 1.0
    npf.space_before = Pt(0)
    npf.space_after = Pt(1)

    fig = _paragraph_style(doc, "Figure")
    fpf = fig.paragraph_format
    fpf.line_spacing = 1.0
    fpf.space_before = Pt(12)
    fpf.space_after = Pt(0)
    fpf.keep_with_next = True
    fpf.alignment = WD_ALIGN_PARAGRAPH.CENTER

    for name in ("Header", "Footer"):
        _set_font(styles[name], BODY_FONT, 9)
        styles[name].paragraph_format.line_spacing = 1.0


def _field(paragraph: Any, instruction: str, placeholder: str) -> None:
    """A complex field (PAGE, NUMPAGES) with a cached result that Word and LibreOffice refresh."""
    for kind, text in (
        ("begin", None),
        ("instr", instruction),
        ("separate", None),
        ("text", placeholder),
        ("end", None),
    ):
        run = paragraph.add_run()
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {text} "
            run._r.append(el)
        elif kind == "text":
            run.text = text
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            run._r.append(el)


def _page_number_footer(footer: Any) -> None:
    p = footer.paragraphs[0]
    p.style = "Footer"
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.add_run("Page ")
    _field(p, "PAGE", "1")
    p.add_run(" of ")
    _field(p, "NUMPAGES", "1")


def setup_page(doc: Any, page_size: str, running_head: str) -> None:
    """Page size, 2.5 cm margins, running head (not on the first page) and 'Page X of Y' on every page."""
    key = page_size.upper()
    if key not in PAGE_SIZES:
        raise ValueError(f"page_size must be one of {', '.join(PAGE_SIZES)}, got {page_size!r}")
    width, height = PAGE_SIZES[key]
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = width, height
    section.left_margin = section.right_margin = section.top_margin = section.bottom_margin = MARGIN
    section.header_distance = section.footer_distance = Cm(1.25)
    section.different_first_page_header_footer = True
    head = section.header.paragraphs[0]
    head.text = running_head
    head.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    section.first_page_header.paragraphs[0].text = ""
    for footer in (section.footer, section.first_page_footer):
        _page_number_footer(footer)


def text_width(doc: Any) -> int:
    s = doc.sections[0]
    return int(s.page_width - s.left_margin - s.right_margin)


def text_height(doc: Any) -> int:
    s = doc.sections[0]
    return int(s.page_height - s.top_margin - s.bottom_margin)


# ---------------------------------------------------------------- tables


#: Child order that Word's schema requires (Word refuses files whose property elements are out of order).
_TBLPR_ORDER = (
    "tblStyle tblpPr tblOverlap bidiVisual tblStyleRowBandSize tblStyleColBandSize tblW jc tblCellSpacing "
    "tblInd tblBorders shd tblLayout tblCellMar tblLook tblCaption tblDescription"
).split()
_TCPR_ORDER = (
    "cnfStyle tcW gridSpan hMerge vMerge tcBorders shd noWrap tcMar textDirection tcFitText vAlign hideMark"
).split()


def _put(parent: Any, child: Any, order: list[str]) -> Any:
    """Insert ``child`` into ``parent`` at its schema position, replacing an element of the same name."""
    name = child.tag.split("}")[1]
    old = parent.find(qn(f"w:{name}"))
    if old is not None:
        parent.remove(old)
    later = set(order[order.index(name) + 1 :])
    for i, sibling in enumerate(parent):
        if sibling.tag.split("}")[-1] in later:
            parent.insert(i, child)
            return child
    parent.append(child)
    return child


def _border(edge: str, size: int) -> Any:
    el = OxmlElement(f"w:{edge}")
    el.set(qn("w:val"), "single" if size else "nil")
    if size:
        el.set(qn("w:sz"), str(size))
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")
    return el


def _set_cell_border(cell: Any, **edges: int) -> None:
    """Cell borders: edge name -> width in eighths of a point (0 = none)."""
    borders = OxmlElement("w:tcBorders")
    for edge in ("top", "left", "bottom", "right"):
        if edge in edges:
            borders.append(_border(edge, edges[edge]))
    _put(cell._tc.get_or_add_tcPr(), borders, _TCPR_ORDER)


_PPR_ORDER = (
    "pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr suppressLineNumbers pBdr shd tabs "
    "suppressAutoHyphens kinsoku wordWrap overflowPunct topLinePunct autoSpaceDE autoSpaceDN bidi adjustRightInd "
    "snapToGrid spacing ind contextualSpacing mirrorIndents suppressOverlap jc textDirection textAlignment "
    "textboxTightWrap outlineLvl divId cnfStyle rPr sectPr pPrChange"
).split()


def _rule_under(paragraph: Any) -> None:
    """A thin rule under a spanner label, drawn as a paragraph border indented from the cell edges, so the
    rules of neighbouring spanners stay apart."""
    pbdr = OxmlElement("w:pBdr")
    pbdr.append(_border("bottom", 4))
    _put(paragraph._p.get_or_add_pPr(), pbdr, _PPR_ORDER)
    paragraph.paragraph_format.left_indent = Cm(0.1)
    paragraph.paragraph_format.right_indent = Cm(0.1)


def _table_properties(table: Any, total_width: int) -> None:
    """Three-line style (rules at top and bottom; the header rule is set on cells), fixed layout, small margins."""
    table.autofit = False
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    tblpr = table._tbl.tblPr
    tblw = OxmlElement("w:tblW")
    tblw.set(qn("w:w"), str(round(total_width / 635)))  # EMU -> twentieths of a point
    tblw.set(qn("w:type"), "dxa")
    _put(tblpr, tblw, _TBLPR_ORDER)
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        borders.append(_border(edge, 12 if edge in ("top", "bottom") else 0))
    _put(tblpr, borders, _TBLPR_ORDER)
    margins = OxmlElement("w:tblCellMar")
    for edge, size in (("top", 0), ("left", 85), ("bottom", 0), ("right", 85)):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:w"), str(size))
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    _put(tblpr, margins, _TBLPR_ORDER)


def _row_flags(row: Any, *, header: bool) -> None:
    """Rows never split across pages; header rows repeat at the top of each page."""
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:cantSplit"))
    if header:
        trpr.append(OxmlElement("w:tblHeader"))


#: Approximate advance widths (in em) of a Times-like serif font, to size columns without measuring text.
_NARROW = set("fijlrtI.,:;'|!`")
_WIDE = set("mwMW%@")
_PUNCT = set('()[]-/"')


def text_em(text: str, bold: bool = False) -> float:
    """Estimated width of ``text`` in em (good to a few per cent for Times on numbers and words)."""
    total = 0.0
    for c in text:
        if c in _NARROW:
            w = 0.28
        elif c in _WIDE:
            w = 0.85
        elif c in _PUNCT:
            w = 0.33
        elif c.isspace():
            w = 0.25
        elif c.isupper():
            w = 0.70
        else:
            w = 0.50  # digits, most lower-case letters, en dash, + = < >
        total += w
    return total * (1.07 if bold else 1.0)


def _label_em(text: str, bold: bool = True) -> float:
    """Width a column label needs: its narrowest layout on at most two lines broken at a space."""
    words = text.split(" ")
    options = [text_em(text, bold)]
    for k in range(1, len(words)):
        options.append(max(text_em(" ".join(words[:k]), bold), text_em(" ".join(words[k:]), bold)))
    return min(options)


def column_widths(table: Table, available: int, font_pt: float = TABLE_PT) -> list[int]:
    """Column widths (EMU) that fill ``available``: each column as wide as its longest cell (labels may wrap
    onto two lines at spaces); when the table is too wide the stub wraps first, then every column shrinks."""
    em = int(Pt(font_pt))
    indent_em = _INDENT_STEP / em
    stub_rows = [text_em(r.stub, r.kind == "group") + indent_em * r.indent for r in table.rows]
    need = [max([_label_em(table.stub_label), *stub_rows])]
    for j, label in enumerate(table.column_labels):
        cells = [text_em(_display(r.cells[j])) for r in table.rows if j < len(r.cells)]
        need.append(max([_label_em(_display(label)), *cells]))
    for sp in table.spanners:  # a spanner label must fit over its columns
        short = text_em(sp.label, True) - sum(need[1 + sp.start : 1 + sp.start + sp.span])
        if short > 0:
            for k in range(1 + sp.start, 1 + sp.start + sp.span):
                need[k] += short / sp.span
    widths = [int(n * em) + _CELL_PAD for n in need]
    total = sum(widths)
    if total <= available:
        grown = [w + (available - total) * w // total for w in widths]
    else:
        stub_words = (table.stub_label + " " + " ".join(r.stub for r in table.rows)).split()
        stub_min = int(max(text_em(w, True) for w in stub_words) * em) + _CELL_PAD
        rest = sum(widths[1:])
        if available - rest >= stub_min:
            grown = [available - rest, *widths[1:]]
        else:
            grown = [int(w * available / total) for w in widths]
    grown[0] += available - sum(grown)
    return grown


def _display(text: str) -> str:
    """Keep 'N = 30' together on one line."""
    return text.replace(" = ", "\u00a0=\u00a0")


def _cell_paragraph(cell: Any, width: int) -> Any:
    cell.width = Emu(width)
    p = cell.paragraphs[0]
    p.style = "Table Text"
    return p


def _markers(footnotes: tuple[str, ...]) -> set[str]:
    return {m.group(1) for note in footnotes if (m := _NOTE_MARKER.match(note))}


def _write_cell_text(p: Any, text: str, markers: set[str], bold: bool = False) -> None:
    """Cell text; a trailing footnote letter ('0.363 a') becomes a superscript ('0.363ᵃ')."""
    text = _display(text)
    m = _MARKER.match(text)
    if m and m.group(2) in markers:
        p.add_run(m.group(1)).bold = bold or None
        p.add_run(m.group(2)).font.superscript = True
    elif text:
        p.add_run(text).bold = bold or None


_ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT, "center": WD_ALIGN_PARAGRAPH.CENTER}


def add_model_table(doc: Any, table: Table, *, new_page: bool = False) -> Any:
    """A ``Table`` model as a Word table: caption above, spanners merged, three rules, footnotes below.

    Header rows repeat on every page, no row splits across pages, and every row is kept with the next
    (and the last with the footnotes), so a table that fits on a page is never broken.
    """
    caption = doc.add_paragraph(style="Caption")
    caption.add_run(f"{table.label}.").bold = True
    caption.add_run(f" {table.title}")
    caption.paragraph_format.keep_with_next = True
    caption.paragraph_format.page_break_before = new_page or None

    ncols = 1 + len(table.column_labels)
    n_head = 2 if table.spanners else 1
    widths = column_widths(table, text_width(doc))
    t = doc.add_table(rows=n_head + len(table.rows), cols=ncols)
    _table_properties(t, sum(widths))
    for j, w in enumerate(widths):
        t.columns[j].width = Emu(w)
    align = [_ALIGN.get(a, WD_ALIGN_PARAGRAPH.RIGHT) for a in table.align]
    align += [WD_ALIGN_PARAGRAPH.RIGHT] * (len(table.column_labels) - len(align))
    markers = _markers(table.footnotes)
    rows = t.rows

    if table.spanners:
        r = rows[0]
        _cell_paragraph(r.cells[0], widths[0])
        col = 1
        for label, span in table.spanner_row():
            cell = r.cells[col].merge(r.cells[col + span - 1]) if span > 1 else r.cells[col]
            for extra in cell.paragraphs[1:]:
                extra._p.getparent().remove(extra._p)
            p = _cell_paragraph(cell, sum(widths[col : col + span]))
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            if label:
                p.add_run(_display(label)).bold = True
                _rule_under(p)
            col += span
    head = rows[n_head - 1]
    p = _cell_paragraph(head.cells[0], widths[0])
    p.add_run(_display(table.stub_label)).bold = True
    for j, label in enumerate(table.column_labels):
        p = _cell_paragraph(head.cells[j + 1], widths[j + 1])
        p.alignment = align[j]
        p.add_run(_display(label)).bold = True
    for cell in head.cells:
        _set_cell_border(cell, bottom=6)
    for i in range(n_head):
        _row_flags(rows[i], header=True)
        for cell in rows[i].cells:
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
            cell.paragraphs[0].paragraph_format.keep_with_next = True

    notes = bool(table.footnotes)
    for i, row in enumerate(table.rows):
        keep = notes or i < len(table.rows) - 1
        _write_body_row(rows[n_head + i], row, widths, align, markers, keep_with_next=keep)

    used = {m.group(2) for r in table.rows for c in r.cells if (m := _MARKER.match(c))}
    for i, note in enumerate(table.footnotes):
        p = doc.add_paragraph(style="Table Footnote")
        m = _NOTE_MARKER.match(note)
        if m and m.group(1) in used:
            p.add_run(m.group(1)).font.superscript = True
            p.add_run(" " + m.group(2))
        else:
            p.add_run(note)
        if i == 0:
            p.paragraph_format.space_before = Pt(3)
        if i < len(table.footnotes) - 1:
            p.paragraph_format.keep_with_next = True
        else:
            p.paragraph_format.space_after = Pt(12)
    if not notes:
        _space_after_block(doc)
    return t


def _write_body_row(
    wrow: Any, row: Row, widths: list[int], align: list[Any], markers: set[str], keep_with_next: bool
) -> None:
    _row_flags(wrow, header=False)
    cells = wrow.cells
    p = _cell_paragraph(cells[0], widths[0])
    p.paragraph_format.left_indent = Emu(int(_INDENT_STEP) * row.indent) if row.indent else None
    p.alignment = WD_ALIGN_PARAGRAPH.LEFT
    _write_cell_text(p, row.stub, markers, bold=row.kind == "group")
    p.paragraph_format.keep_with_next = keep_with_next or None
    for j, text in enumerate(row.cells):
        p = _cell_paragraph(cells[j + 1], widths[j + 1])
        p.alignment = align[j]
        _write_cell_text(p, text, markers)
        p.paragraph_format.keep_with_next = keep_with_next or None


def add_html_table(doc: Any, node: Node) -> Any:
    """A plain HTML table (no model behind it): caption above, cells as text, the same three rules."""
    caption = next(node.find_all("caption"), None)
    if caption is not None:
        p = doc.add_paragraph(style="Caption")
        add_spans(p, inline_spans(caption))
        p.paragraph_format.keep_with_next = True
    trs = list(node.find_all("tr"))
    ncols = max(
        (len([c for c in tr.children if isinstance(c, Node) and c.tag in {"th", "td"}]) for tr in trs), default=0
    )
    if not trs or not ncols:
        return None
    available = text_width(doc)
    widths = [available] if ncols == 1 else [int(available * 0.3)] + [int(available * 0.7 / (ncols - 1))] * (ncols - 1)
    head_rows = {id(tr) for thead in node.find_all("thead") for tr in thead.find_all("tr")}
    t = doc.add_table(rows=len(trs), cols=ncols)
    _table_properties(t, sum(widths))
    for j, w in enumerate(widths):
        t.columns[j].width = Emu(w)
    for i, tr in enumerate(trs):
        cells = [c for c in tr.children if isinstance(c, Node) and c.tag in {"th", "td"}]
        in_head = id(tr) in head_rows
        _row_flags(t.rows[i], header=in_head)
        for j, c in enumerate(cells[:ncols]):
            p = _cell_paragraph(t.rows[i].cells[j], widths[j])
            spans = inline_spans(c)
            if c.tag == "th" and in_head:
                spans = [replace(s, bold=True) for s in spans]
            add_spans(p, spans)
    _space_after_block(doc)
    return t


def _space_after_block(doc: Any) -> None:
    """An empty single-spaced paragraph separates a table or figure from the following text."""
    doc.add_paragraph(style="Table Footnote")


# ---------------------------------------------------------------- figures


def add_figure(doc: Any, fig: RenderedFigure, *, new_page: bool = False) -> None:
    """The 300-dpi PNG at text width (shrunk if needed so that it and its caption fit one page),
    alt text on the picture, caption below."""
    width = text_width(doc)
    aspect = fig.height_px / fig.width_px if fig.width_px else 0.75
    max_height = int(text_height(doc) * 0.7)
    if width * aspect > max_height:
        width = int(max_height / aspect)
    p = doc.add_paragraph(style="Figure")
    p.paragraph_format.page_break_before = new_page or None
    run = p.add_run()
    shape = run.add_picture(io.BytesIO(fig.png), width=Emu(width))
    doc_pr = shape._inline.docPr
    doc_pr.set("descr", fig.alt)
    doc_pr.set("name", f"{fig.label}: {fig.id}")
    caption = doc.add_paragraph(style="Caption")
    caption.add_run(f"{fig.label}.").bold = True
    caption.add_run(f" {fig.caption}")
    caption.paragraph_format.space_after = Pt(12)


# ---------------------------------------------------------------- walking the HTML


@dataclass
class _Context:
    doc: Any
    tables: dict[str, Table]
    figures: dict[str, RenderedFigure]
    break_before_next_heading: bool = False
    deferred_tables: list[Table] = field(default_factory=list)
    deferred_figures: list[RenderedFigure] = field(default_factory=list)


def _paragraph(ctx: _Context, node: Node, style: str | None = None) -> Any:
    spans = inline_spans(node)
    if not spans:
        return None
    p = ctx.doc.add_paragraph(style=style)
    add_spans(p, spans)
    return p


def _model_table(ctx: _Context, node: Node) -> Table | None:
    if node.tag == "figure" and "table" in node.classes:
        return ctx.tables.get(node.attrs.get("id", ""))
    return None


def _model_figure(ctx: _Context, node: Node) -> RenderedFigure | None:
    if node.tag == "figure" and "figure" in node.classes:
        return ctx.figures.get(node.attrs.get("id", ""))
    return None


def _only_floats_follow(ctx: _Context, siblings: list[Node | str], i: int) -> bool:
    """True when the heading at ``siblings[i]`` heads nothing but tables and figures (which move to the end)."""
    floats = 0
    for sib in siblings[i + 1 :]:
        if isinstance(sib, str):
            if sib.strip():
                return False
            continue
        if sib.tag in _HEADING_STYLE:
            break
        if _model_table(ctx, sib) is None and _model_figure(ctx, sib) is None:
            return False
        floats += 1
    return floats > 0


def _walk(ctx: _Context, node: Node) -> None:
    for i, child in enumerate(node.children):
        if isinstance(child, str):
            if child.strip():
                _paragraph(ctx, Node("span", children=[child]))
            continue
        if child.tag in _HEADING_STYLE and _only_floats_follow(ctx, node.children, i):
            continue
        _block(ctx, child)


def flush_floats(ctx: _Context) -> None:
    """Tables, then figures, after the main text, as journals ask: each table on a page of its own, the
    figures one after another from a new page, each part under its own heading."""
    for name, items in (("Tables", ctx.deferred_tables), ("Figures", ctx.deferred_figures)):
        if not items:
            continue
        heading = ctx.doc.add_paragraph(name, style="Heading 1")
        heading.paragraph_format.page_break_before = True
        for k, item in enumerate(items):
            if isinstance(item, Table):
                add_model_table(ctx.doc, item, new_page=k > 0)
            else:
                add_figure(ctx.doc, item)
    ctx.deferred_tables, ctx.deferred_figures = [], []


def _block(ctx: _Context, node: Node) -> None:
    tag, classes = node.tag, node.classes
    if tag in _SKIP or tag == "img" or "running-title" in classes:
        return
    if tag == "header" and "title-block" in classes:
        # The title and the author line are written from the arguments; the rest (notes) as paragraphs.
        for child in node.children:
            if isinstance(child, Node) and not (child.tag == "h1" or "authors" in child.classes):
                _block(ctx, child)
        return
    if tag in _HEADING_STYLE:
        p = _paragraph(ctx, node, _HEADING_STYLE[tag])
        if p is not None and ctx.break_before_next_heading:
            p.paragraph_format.page_break_before = True
            ctx.break_before_next_heading = False
        return
    model = _model_table(ctx, node)
    if model is not None:
        ctx.deferred_tables.append(model)
        return
    fig = _model_figure(ctx, node)
    if fig is not None:
        ctx.deferred_figures.append(fig)
        return
    if tag == "table":
        add_html_table(ctx.doc, node)
        return
    if tag in {"ul", "ol"}:
        style = "List Number" if tag == "ol" else "List Bullet"
        for li in node.children:
            if isinstance(li, Node) and li.tag == "li":
                _paragraph(ctx, li, style)
        return
    section_id = node.attrs.get("id") if tag == "section" else None
    if tag == "section" and "appendix" in classes:
        flush_floats(ctx)  # appendices follow the tables and figures
        ctx.break_before_next_heading = True
    if section_id == "abstract":  # the title page and the abstract stand alone, as journals ask
        ctx.break_before_next_heading = True
        _walk(ctx, node)
        ctx.break_before_next_heading = True
        return
    if tag in _CONTAINERS or tag == "#root":
        _walk(ctx, node)
        return
    _paragraph(ctx, node, "Caption" if tag == "figcaption" else None)


def _running_head(tree: Node) -> str | None:
    for div in tree.find_all("div"):
        if "running-title" in div.classes:
            return " ".join(div.text().split()) or None
    return None


def _author_placeholder(tree: Node) -> str | None:
    for p in tree.find_all("p"):
        if "authors" in p.classes:
            return " ".join(p.text().split()) or None
    return None


def _core_properties(doc: Any, title: str, authors: list[str], when: datetime) -> None:
    cp = doc.core_properties
    cp.title = title
    cp.author = ", ".join(authors)
    cp.last_modified_by = ""
    cp.comments = ""
    cp.subject = ""
    cp.keywords = ""
    cp.category = ""
    cp.revision = 1
    naive = when.astimezone(UTC).replace(tzinfo=None)
    cp.created = naive
    cp.modified = naive


def _drop_template_leftovers(doc: Any) -> None:
    """Parts of python-docx's template that would contradict the document: its thumbnail (another
    document's picture; Word makes a new one when it saves) and the Word 2010 copy of the original styles
    (stylesWithEffects.xml), which Word 2010 would show instead of the styles set here."""
    for rels, unwanted in ((doc.part.package.rels, RT.THUMBNAIL), (doc.part.rels, "stylesWithEffects")):
        for rid, rel in list(rels.items()):
            if rel.reltype == unwanted or rel.reltype.endswith("/" + unwanted):
                del rels[rid]


def html_to_docx(
    report: Report,
    *,
    title: str,
    authors: list[str],
    page_size: str = "A4",
    running_head: str | None = None,
    line_spacing: float = 2.0,
    created: datetime | None = None,
) -> bytes:
    """The report as a Word manuscript (DOCX bytes), deterministic for the same input.

    ``running_head`` defaults to the report's short title (its running-title element), else ``title``;
    ``line_spacing`` is that of body text (journals usually ask for double spacing); ``created``
    defaults to ``source_date()``.
    """
    when = created or source_date()
    tree = parse_html(report.html)
    doc = Document()
    _drop_template_leftovers(doc)
    setup_styles(doc, line_spacing)
    setup_page(doc, page_size, running_head or _running_head(tree) or title)
    body = doc.element.body
    for p in list(body.iterchildren(qn("w:p"))):  # the template's empty first paragraph
        body.remove(p)
    doc.add_paragraph(title, style="Title")
    placeholder = None if authors else _author_placeholder(tree)
    if authors or placeholder:
        line = doc.add_paragraph(style="Author Line").add_run(", ".join(authors) or placeholder)
        if placeholder:
            line.font.highlight_color = WD_COLOR_INDEX.YELLOW
    ctx = _Context(doc, {t.id: t for t in report.tables}, {f.id: f for f in report.figures})
    _walk(ctx, tree)
    flush_floats(ctx)
    _core_properties(doc, title, authors, when)
    buf = io.BytesIO()
    doc.save(buf)
    return reproducible_zip(buf.getvalue(), when)
