"""Labels to print: the QR code beside its human-readable text, as PDF pages or Zebra ZPL.

``pdf``  vector modules (run-length rectangles, no bitmap) with the text: a 4x6 in shipping
         label, or sheets of 2 x 5 case labels on Letter (4 x 2 in, Avery 5163 grid) or A4
         (99.1 x 57 mm, Avery L7173 grid); :func:`render_sheet` fills a sheet with many labels.
``zpl``  a Zebra ZPL II label for a 4x6 in label at 203 dpi; the printer encodes the code itself.

Decisions:

* PDF: reportlab, not fpdf2: a 4x6 label with embedded Unicode fonts takes ~8 ms with reportlab
  and ~65 ms with fpdf2 (TrueType subsetting through fontTools), and reportlab's wheel ships
  Bitstream Vera TTFs, so accents work after ``pip install`` alone. Font: DejaVu Sans (Debian
  ``fonts-dejavu-core``, wider coverage) when present, else Vera (Latin-1 and common
  punctuation). Output is reproducible (``invariant``).
* ZPL: ``^BQN,2,m,E`` with field data ``EM,Bnnnn<url>``: level E, *manual* input, byte mode with
  a 4-digit byte count. Automatic input (``EA,``) cannot carry bytes 0x80-0x9F / 0xE0-0xFF
  (ZPL II guide) and may choose other modes than ``qr_info``. ``^CI28``: UTF-8 field data;
  ``^`` and ``~`` go through ``^FH`` hex escapes; ``^FB`` text is cut here, never overprinted.
* reportlab ships no type hints: its imports are marked ``type: ignore[import-untyped]``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from tracefood.errors import RenderError
from tracefood.labels.qr import QUIET_ZONE, QrSymbol, check_payload, qr_info, qr_symbol, runs

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

__all__ = [
    "LAYOUTS",
    "PT_PER_MM",
    "ZPL_DPI",
    "ZPL_HEIGHT",
    "ZPL_WIDTH",
    "LabelText",
    "labels_per_page",
    "pdf",
    "pdf_fonts",
    "render_sheet",
    "zpl",
]

LAYOUTS = ("4x6", "letter", "a4")
ZPL_DPI = 203
ZPL_WIDTH, ZPL_HEIGHT = 4 * ZPL_DPI, 6 * ZPL_DPI  # 812 x 1218 dots


@dataclass(frozen=True)
class LabelText:
    """The human-readable text printed beside the code."""

    product: str
    producer: str
    lot: str | None = None
    gtin: str | None = None
    sscc: str | None = None
    pack_date: str | None = None
    origin: str | None = None

    def lines(self) -> list[tuple[str, str]]:
        """(caption, value) pairs under the product name, in print order."""
        fields = [("Lot", self.lot), ("GTIN", self.gtin), ("SSCC", self.sscc), ("Producer", self.producer)]
        fields += [("Packed", self.pack_date), ("Origin", self.origin)]
        return [(caption, _clean(value)) for caption, value in fields if value]


def _clean(text: str) -> str:
    """Printable text: control characters (newlines, tabs...) become spaces."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", str(text)).strip()


# -- PDF ------------------------------------------------------------------------------------------

_FONT, _BOLD = "TraceFood-Sans", "TraceFood-Sans-Bold"
_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
PT_PER_MM = 72 / 25.4


@dataclass(frozen=True)
class _Grid:
    """A page of labels: page size, columns x rows of w x h points, gap between columns."""

    page: tuple[float, float]
    cols: int
    rows: int
    w: float
    h: float
    gap: float

    def boxes(self) -> list[tuple[float, float, float, float]]:
        """(x, y, w, h) of every label, in reading order, PDF coordinates (origin bottom left)."""
        left = (self.page[0] - self.cols * self.w - (self.cols - 1) * self.gap) / 2
        top = (self.page[1] - self.rows * self.h) / 2
        return [
            (left + c * (self.w + self.gap), self.page[1] - top - (r + 1) * self.h, self.w, self.h)
            for r in range(self.rows)
            for c in range(self.cols)
        ]


_GRIDS = {
    "4x6": _Grid((288, 432), 1, 1, 288, 432, 0),
    "letter": _Grid((612, 792), 2, 5, 288, 144, 13.5),
    "a4": _Grid((210 * PT_PER_MM, 297 * PT_PER_MM), 2, 5, 99.1 * PT_PER_MM, 57 * PT_PER_MM, 2.5 * PT_PER_MM),
}


def labels_per_page(layout: str) -> int:
    """How many labels one page of ``layout`` holds (1 for ``4x6``, 10 for Letter and A4)."""
    return len(_GRIDS[layout].boxes())


@cache
def pdf_fonts() -> tuple[str, str]:
    """Register the label fonts with reportlab once; return the TTF files used (regular, bold)."""
    import reportlab  # type: ignore[import-untyped]
    from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
    from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]

    regular, bold = _DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"
    if not (regular.is_file() and bold.is_file()):
        shipped = Path(reportlab.__file__).parent / "fonts"
        regular, bold = shipped / "Vera.ttf", shipped / "VeraBd.ttf"
    pdfmetrics.registerFont(TTFont(_FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(_BOLD, str(bold)))
    return str(regular), str(bold)


def _fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` points."""
    from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped]

    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _lines(text: str, font: str, size: float, width: float, most: int = 2) -> list[str]:
    """``text`` word-wrapped to ``width`` points in at most ``most`` lines, the last one cut."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    for word in text.split():
        if lines and stringWidth(f"{lines[-1]} {word}", font, size) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    lines[most - 1 :] = [" ".join(lines[most - 1 :])] if len(lines) > most else lines[most - 1 :]
    return [_fit(line, font, size, width) for line in lines]


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """``text`` broken anywhere (a URL has no spaces) into lines of at most ``width`` points."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, line = [], ""
    for char in text:
        if line and stringWidth(line + char, font, size) > width:
            lines.append(line)
            line = ""
        line += char
    return [*lines, line] if line else lines


def _draw_label(canvas: Canvas, url: str, symbol: QrSymbol, text: LabelText | None, box: tuple[float, ...]) -> None:
    """One label in ``box``: code on top (tall box, 4x6) or on the left (case label)."""
    x, y, w, h = box
    tall = h > w
    pad = 18.0 if tall else 9.0
    side = (w - 2 * pad) * 0.75 if tall else h - 2 * pad
    module = side / (symbol.size + 2 * QUIET_ZONE)
    cx, cy = (x + (w - side) / 2, y + h - pad - side) if tall else (x + pad, y + pad)
    path = canvas.beginPath()
    for mx, my, run in runs(symbol):
        top = cy + side - (my + QUIET_ZONE) * module
        path.rect(cx + (mx + QUIET_ZONE) * module, top - module, run * module, module)
    canvas.drawPath(path, stroke=0, fill=1)
    # Text: under the code on a 4x6 label, right of it on a case label; the URL in small print at
    # the bottom, and text lines that would reach it are left out rather than overprinted.
    tx, width = (x + pad, w - 2 * pad) if tall else (cx + side + 4, w - side - 2 * pad - 4)
    title, body, small = (15.0, 11.0, 6.0) if tall else (9.0, 7.0, 4.5)
    url_lines = _wrap(url, _FONT, small, width)
    floor = y + pad + len(url_lines) * small * 1.2 + small
    rows: list[tuple[str, float, str]] = []
    if text is not None:
        rows += [(_BOLD, title, line) for line in _lines(_clean(text.product), _BOLD, title, width)]
        for caption, value in text.lines():
            rows += [(_FONT, body, line) for line in _lines(f"{caption} {value}", _FONT, body, width)]
    cursor = (cy - 10 if tall else y + h - pad) + title * 0.3
    previous = _BOLD
    for font, size, line in rows:
        cursor -= size * 1.3 + (size * 0.3 if font != previous else 0)
        if cursor < floor:
            break
        canvas.setFont(font, size)
        canvas.drawString(tx, cursor, line)
        previous = font
    canvas.setFont(_FONT, small)
    for i, line in enumerate(url_lines):
        canvas.drawString(tx, y + pad + (len(url_lines) - 1 - i) * small * 1.2, line)


def pdf(labels: Sequence[tuple[str, LabelText | None]], layout: str, ec: str, engine: str | None) -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    grid = _GRIDS[layout]
    encoded = {url: qr_symbol(url, ec, engine) for url in dict.fromkeys(url for url, _ in labels)}
    symbols = [(url, encoded[url], text) for url, text in labels]
    pdf_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=grid.page, invariant=True, pageCompression=1)
    canvas.setCreator("TraceFood")
    canvas.setTitle(labels[0][1].product if labels[0][1] else labels[0][0])
    boxes = grid.boxes()
    for start in range(0, len(symbols), len(boxes)):
        for box, (url, symbol, text) in zip(boxes, symbols[start : start + len(boxes)], strict=False):
            _draw_label(canvas, url, symbol, text, box)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def render_sheet(labels: list[tuple[str, LabelText]], *, layout: str = "letter", ec: str = "M") -> bytes:
    """A PDF of case labels, 10 to a Letter or A4 page (one per page for ``4x6``).

    One label is repeated to fill the sheet; more labels than a sheet holds go on more pages.
    """
    if layout not in LAYOUTS:
        raise RenderError(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    if not labels:
        raise RenderError("a sheet needs at least one label")
    items: list[tuple[str, LabelText | None]] = list(labels)
    if len(items) == 1:
        items *= labels_per_page(layout)
    return pdf(items, layout, ec, None)


# -- ZPL ------------------------------------------------------------------------------------------

_ZPL_MARGIN = 40  # dots (5 mm) around everything, the code's quiet zone comes on top of it


def _zpl_field(text: str) -> str:
    """``^FD...^FS`` for ``text``, with ``^FH`` hex escapes when it holds ``^`` or ``~``."""
    if "^" not in text and "~" not in text:
        return f"^FD{text}^FS"
    escaped = "".join(f"_{ord(c):02X}" if c in "^~_" else c for c in text)
    return f"^FH^FD{escaped}^FS"


def _zpl_block(x: int, y: int, height: int, width: int, lines: int, text: str) -> tuple[str, int]:
    """A text block (font 0) cut to what ``lines`` lines hold: (ZPL, height used in dots)."""
    per_line = max(1, int(width // (height * 0.6)))  # font 0 is condensed: ~0.5 h per char
    if len(text) > per_line * lines:
        text = text[: per_line * lines - 3] + "..."
    used = min(lines, -(-len(text) // per_line))
    block = text.replace("\\", "\\\\")  # ^FB reads "\&" as a line break and "\\" as a backslash
    return f"^FO{x},{y}^A0N,{height},{height}^FB{width},{lines},0,L,0{_zpl_field(block)}", used * height


def zpl(url: str, text: LabelText | None, ec: str) -> bytes:
    version, level = qr_info(url, ec)
    data = check_payload(url)
    modules = 17 + 4 * version
    width = ZPL_WIDTH - 2 * _ZPL_MARGIN
    # Magnification (dots per module, 1..10): as large as fits the width and leaves ~470 dots of
    # text; a 65-module code (version 10 + quiet zone) gets 10 dots = 1.25 mm modules.
    magnification = max(1, min(10, width // (modules + 2 * QUIET_ZONE), 680 // (modules + 2 * QUIET_ZONE)))
    x = (ZPL_WIDTH - modules * magnification) // 2
    y = _ZPL_MARGIN + QUIET_ZONE * magnification
    parts = ["^XA", "^CI28", f"^PW{ZPL_WIDTH}", f"^LL{ZPL_HEIGHT}", "^LH0,0"]
    parts.append(f"^FO{x},{y}^BQN,2,{magnification},{level}" + _zpl_field(f"{level}M,B{len(data):04d}{url}"))
    cursor = y + (modules + QUIET_ZONE) * magnification + 10
    if text is not None:
        block, used = _zpl_block(_ZPL_MARGIN, cursor, 48, width, 2, _clean(text.product))
        parts.append(block)
        cursor += used + 16
        for caption, value in text.lines():
            block, used = _zpl_block(_ZPL_MARGIN, cursor, 32, width, 1, f"{caption} {value}")
            parts.append(block)
            cursor += used + 8
    block, _ = _zpl_block(_ZPL_MARGIN, max(cursor + 8, ZPL_HEIGHT - _ZPL_MARGIN - 4 * 20), 18, width, 4, url)
    parts += [block, "^PQ1", "^XZ"]
    return ("\n".join(parts) + "\n").encode("utf-8")
