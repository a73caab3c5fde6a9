"""The pages every report shares: paper, margins, styles, the header and the footer.

Header (every page): the clinic's logo and name, the report's title and the patient's identifier.
Footer (every page): the station's software version, the plate calibration date(s) of the
recordings shown, when the report was made, and "page n of N". Text is wrapped inside the frame
(long identifiers and long words too), so nothing leaves the page.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph, Table, TableStyle

from station.reports.text import para, pdf_text

PAPERS = {"a4": A4, "letter": LETTER}
"""Paper sizes by name (points)."""

MARGIN = 16 * mm
HEADER_H = 20 * mm
FOOTER_H = 12 * mm
LOGO_MAX_H = 13 * mm
LOGO_MAX_W = 40 * mm

BASE = ParagraphStyle("base", fontName="Helvetica", fontSize=9, leading=11.5, alignment=TA_LEFT, splitLongWords=True)
STYLES = {
    "body": BASE,
    "small": ParagraphStyle("small", parent=BASE, fontSize=7.5, leading=9.5),
    "cell": ParagraphStyle("cell", parent=BASE, fontSize=8, leading=9.8),
    "cellbold": ParagraphStyle("cellbold", parent=BASE, fontName="Helvetica-Bold", fontSize=8, leading=9.8),
    "h1": ParagraphStyle("h1", parent=BASE, fontName="Helvetica-Bold", fontSize=15, leading=18, spaceAfter=4),
    "h2": ParagraphStyle("h2", parent=BASE, fontName="Helvetica-Bold", fontSize=12, leading=15, spaceBefore=8,
                         spaceAfter=3, keepWithNext=1),
    "h3": ParagraphStyle("h3", parent=BASE, fontName="Helvetica-Bold", fontSize=10, leading=12.5, spaceBefore=6,
                         spaceAfter=2, keepWithNext=1),
    "cite": ParagraphStyle("cite", parent=BASE, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#333333")),
}


def p(text: object, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped) in one of :data:`STYLES`."""
    return Paragraph(para(text), STYLES[style])


def table(rows: list[list], widths: list[float], *, header: bool = True, zebra: bool = True) -> Table:
    """A table whose cells are wrapped paragraphs (strings become ``cell`` paragraphs), with a
    bold header row repeated on every page; grey shading every other row (prints in black and
    white)."""
    cells = []
    for r, row in enumerate(rows):
        cells.append([p(c, "cellbold" if header and r == 0 else "cell") if isinstance(c, str) else c for c in row])
    t = Table(cells, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    style = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 3),
             ("RIGHTPADDING", (0, 0), (-1, -1), 3), ("TOPPADDING", (0, 0), (-1, -1), 2),
             ("BOTTOMPADDING", (0, 0), (-1, -1), 2), ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
             ("LINEBELOW", (0, -1), (-1, -1), 0.5, colors.black)]
    if zebra:
        for r in range(1 if header else 0, len(rows)):
            if r % 2 == 0:
                style.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#eeeeee")))
    t.setStyle(TableStyle(style))
    return t


@dataclass
class PageInfo:
    """What the header and footer print."""

    title: str
    patient_identifier: str
    clinic_name: str = ""
    logo: Path | None = None
    station_version: str = ""
    calibration: str = ""
    generated: str = ""
    extra: list[str] = field(default_factory=list)


class _NumberedCanvas(pdfcanvas.Canvas):
    """A canvas that knows the page count when it saves, for "page n of N"."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self):
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont("Helvetica", 7.5)
            width = self._pagesize[0]
            self.drawRightString(width - MARGIN, MARGIN - 8 * mm + 2, f"page {self._pageNumber} of {total}")
            super().showPage()
        super().save()


def content_width(paper: str) -> float:
    """Width of the text frame, points."""
    return PAPERS[paper][0] - 2 * MARGIN


def _fit_one_line(c, text: str, font: str, size: float, max_w: float) -> tuple[str, float]:
    """``text`` at ``size`` or smaller (down to 6 pt), cut with "..." if it still does not fit."""
    text = pdf_text(text)
    while size > 6 and c.stringWidth(text, font, size) > max_w:
        size -= 0.5
    if c.stringWidth(text, font, size) > max_w:
        while text and c.stringWidth(text + "...", font, size) > max_w:
            text = text[:-1]
        text += "..."
    return text, size


def _wrap_two_lines(c, text: str, font: str, max_w: float) -> tuple[list[str], float]:
    """``text`` on one line at 11 pt, else on at most two lines at 10 to 8 pt; what still does not
    fit ends with "..."."""
    from reportlab.lib.utils import simpleSplit

    text = pdf_text(text)
    if c.stringWidth(text, font, 11) <= max_w:
        return [text], 11.0
    for size in (10.0, 9.0, 8.0):
        lines = simpleSplit(text, font, size, max_w)
        if len(lines) <= 2:
            return lines, size
    lines = simpleSplit(text, font, 8.0, max_w)
    second, _ = _fit_one_line(c, " ".join(lines[1:]), font, 8.0, max_w)
    return [lines[0], second], 8.0


def _draw_frame(c, doc, info: PageInfo) -> None:
    width, height = doc.pagesize
    top = height - MARGIN + 4 * mm
    x = MARGIN
    if info.logo is not None:
        try:
            from reportlab.lib.utils import ImageReader

            image = ImageReader(str(info.logo))
            iw, ih = image.getSize()
            scale = min(LOGO_MAX_H / ih, LOGO_MAX_W / iw)
            c.drawImage(image, x, top - LOGO_MAX_H, iw * scale, ih * scale, mask="auto")
            x += iw * scale + 4 * mm
        except (OSError, ValueError):
            pass  # the configuration check refuses unreadable logos; one removed since is left out
    right_w = 0.45 * (width - 2 * MARGIN)
    # the clinic's name, and under it what the document is; without a name (none configured) that once
    # ("Balance station report", not "Balance station / Balance station report")
    name = (info.clinic_name or "").strip()
    lines, size = _wrap_two_lines(c, name or "Balance station report", "Helvetica-Bold",
                                  width - MARGIN - x - right_w - 4 * mm)
    c.setFont("Helvetica-Bold", size)
    for i, line in enumerate(lines):
        c.drawString(x, top - 5 * mm - i * (size + 1.5), line)
    if name:
        c.setFont("Helvetica", 8)
        c.drawString(x, top - 5 * mm - len(lines) * (size + 1.5) - 1.5 * mm, pdf_text("Balance station report"))
    title, size = _fit_one_line(c, info.title, "Helvetica-Bold", 10, right_w)
    c.setFont("Helvetica-Bold", size)
    c.drawRightString(width - MARGIN, top - 5 * mm, title)
    who, size = _fit_one_line(c, f"Patient {info.patient_identifier}", "Helvetica", 9, right_w)
    c.setFont("Helvetica", size)
    c.drawRightString(width - MARGIN, top - 9.5 * mm, who)
    c.setLineWidth(0.6)
    c.line(MARGIN, height - MARGIN - HEADER_H + 5 * mm, width - MARGIN, height - MARGIN - HEADER_H + 5 * mm)
    y = MARGIN - 8 * mm + 2
    c.line(MARGIN, MARGIN - 2 * mm, width - MARGIN, MARGIN - 2 * mm)
    left = f"Balance station {info.station_version} · calibration {info.calibration or 'unknown'} · made {info.generated}"
    text, size = _fit_one_line(c, left, "Helvetica", 7.5, width - 2 * MARGIN - 22 * mm)
    c.setFont("Helvetica", size)
    c.drawString(MARGIN, y, text)


def build_pdf(story: list, info: PageInfo, paper: str) -> bytes:
    """The PDF of ``story`` (flowables) on ``paper`` (``a4`` or ``letter``) with the shared
    header and footer."""
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {', '.join(PAPERS)}")
    buffer = io.BytesIO()
    pagesize = PAPERS[paper]
    doc = BaseDocTemplate(buffer, pagesize=pagesize, leftMargin=MARGIN, rightMargin=MARGIN,
                          topMargin=MARGIN + HEADER_H - 3 * mm, bottomMargin=MARGIN + FOOTER_H - 8 * mm,
                          title=pdf_text(info.title), author=pdf_text(info.clinic_name or "Balance station"),
                          creator=f"balance-station {info.station_version}", subject="",
                          invariant=False)
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=lambda c, d: _draw_frame(c, d, info))])
    doc.build(story, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()
