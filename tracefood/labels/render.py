"""Label rendering: a signed label URL (already signed, see ``tracefood.ledger.labels``) to files.

The QR content is the URL exactly as given, in byte mode, at the smallest QR version that holds
it at the chosen error correction (``qr_info``), with a 4-module quiet zone. Formats:

``png``  the bare code, 1 bit per pixel, 8 px per module.
``svg``  the bare code as one ``<path>`` in a viewBox of module units (crisp at any size).
``pdf``  vector modules (run-length rectangles, no bitmap) with the human-readable text: a 4x6 in
         shipping label, or sheets of 2 x 5 case labels on Letter (4 x 2 in, Avery 5163 grid) or
         A4 (99.1 x 57 mm, Avery L7173 grid).
``zpl``  a Zebra ZPL II label for a 4x6 in label at 203 dpi; the printer encodes the code itself.

Decisions:

* Encoders: segno (default) and qrcode (``engine=``). segno is faster here (tools/bench_labels.py,
  175-char URL: ~7.4 vs ~9.4 ms, nearly all of it the mask-penalty search). Both hand their
  matrix to one Pillow 1-bit PNG writer (~0.7 ms), 3-4 ms faster than either library's own.
* The version comes from the ISO/IEC 18004 table below and is passed to the encoder, so
  ``qr_info`` is what every format uses and an over-long URL fails before any library runs.
* PDF: reportlab, not fpdf2: a 4x6 label with embedded Unicode fonts takes ~8 ms with reportlab
  and ~65 ms with fpdf2 (TrueType subsetting through fontTools), and reportlab's wheel ships
  Bitstream Vera TTFs, so accents work after ``pip install`` alone. Font: DejaVu Sans (Debian
  ``fonts-dejavu-core``, wider coverage) when present, else Vera (Latin-1 and common
  punctuation). Output is reproducible (``invariant``).
* ZPL: ``^BQN,2,m,E`` with field data ``EM,Bnnnn<url>``: level E, *manual* input, byte mode with
  a 4-digit byte count. Automatic input (``EA,``) cannot carry bytes 0x80-0x9F / 0xE0-0xFF
  (ZPL II guide) and may choose other modes than ``qr_info``. ``^CI28``: UTF-8 field data;
  ``^`` and ``~`` go through ``^FH`` hex escapes; ``^FB`` text is cut here, never overprinted.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from tracefood.errors import TraceFoodError

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas

FORMATS = ("png", "svg", "pdf", "zpl")
LAYOUTS = ("4x6", "letter", "a4")
EC_LEVELS = ("L", "M", "Q", "H")
ENGINES = ("segno", "qrcode")
DEFAULT_ENGINE = "segno"
MODULE_PX = 8
QUIET_ZONE = 4
ZPL_DPI = 203
ZPL_WIDTH, ZPL_HEIGHT = 4 * ZPL_DPI, 6 * ZPL_DPI  # 812 x 1218 dots


# Data codewords per version 1..40 (ISO/IEC 18004:2015 Table 7).
_DATA_CODEWORDS = {
    "L": (19, 34, 55, 80, 108, 136, 156, 194, 232, 274, 324, 370, 428, 461, 523, 589, 647, 721, 795, 861, 932, 1006,
           1094, 1174, 1276, 1370, 1468, 1531, 1631, 1735, 1843, 1955, 2071, 2191, 2306, 2434, 2566, 2702, 2812, 2956),
    "M": (16, 28, 44, 64, 86, 108, 124, 154, 182, 216, 254, 290, 334, 365, 415, 453, 507, 563, 627, 669, 714, 782, 860,
           914, 1000, 1062, 1128, 1193, 1267, 1373, 1455, 1541, 1631, 1725, 1812, 1914, 1992, 2102, 2216, 2334),
    "Q": (13, 22, 34, 48, 62, 76, 88, 110, 132, 154, 180, 206, 244, 261, 295, 325, 367, 397, 445, 485, 512, 568, 614,
           664, 718, 754, 808, 871, 911, 985, 1033, 1115, 1171, 1231, 1286, 1354, 1426, 1502, 1582, 1666),
    "H": (9, 16, 26, 36, 46, 60, 66, 86, 100, 122, 140, 158, 180, 197, 223, 253, 283, 313, 341, 385, 406, 442, 464, 514,
           538, 596, 628, 661, 701, 745, 793, 845, 901, 961, 986, 1054, 1096, 1142, 1222, 1276),
}  # fmt: skip


class RenderError(TraceFoodError, ValueError):
    """A label that cannot be rendered as asked (bad format, layout, level, URL too long...)."""

    status = 422
    title = "Cannot render label"
    slug = "label-render"


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


@dataclass(frozen=True)
class QrSymbol:
    """An encoded QR code: its version, level and module rows (1 = dark), quiet zone excluded."""

    version: int
    ec: str
    rows: tuple[bytes, ...]

    @property
    def size(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class DecodedCode:
    """One QR code found in an image."""

    text: str
    version: int | None
    ec: str | None


# -- QR encoding ----------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Printable text: control characters (newlines, tabs...) become spaces."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", str(text)).strip()


def _level(ec: object) -> str:
    if isinstance(ec, str) and ec.upper() in EC_LEVELS:
        return ec.upper()
    raise RenderError(f"unknown error correction level {ec!r}: use one of L, M, Q, H")


def _payload(url: object) -> bytes:
    if not isinstance(url, str) or not url:
        raise RenderError("the label URL must be a non-empty string")
    if re.search(r"[\x00-\x20\x7f]", url):
        raise RenderError("the label URL contains a space or a control character")
    return url.encode("utf-8")


def byte_capacity(version: int, ec: str) -> int:
    """How many bytes a QR code of this version and level holds in byte mode."""
    count_bits = 8 if version < 10 else 16
    return (_DATA_CODEWORDS[ec][version - 1] * 8 - 4 - count_bits) // 8


def _version(length: int, ec: str) -> int:
    for version in range(1, 41):
        if length <= byte_capacity(version, ec):
            return version
    raise RenderError(
        f"the URL is {length} bytes, more than a QR code holds at error correction {ec} "
        f"({byte_capacity(40, ec)} bytes); shorten it or use a lower level"
    )


def qr_info(url: str, ec: str = "M") -> tuple[int, str]:
    """(QR version, error correction letter) that every format uses for this URL."""
    level = _level(ec)
    return _version(len(_payload(url)), level), level


def qr_symbol(url: str, ec: str = "M", engine: str | None = None) -> QrSymbol:
    """Encode ``url`` in byte mode at ``qr_info``'s version with segno (default) or qrcode."""
    level = _level(ec)
    data = _payload(url)
    version = _version(len(data), level)
    engine = DEFAULT_ENGINE if engine is None else engine
    if engine == "segno":
        import segno

        code = segno.make_qr(data, error=level.lower(), version=version, mode="byte", boost_error=False)
        rows = tuple(bytes(row) for row in code.matrix)
    elif engine == "qrcode":
        import qrcode
        from qrcode.util import MODE_8BIT_BYTE, QRData

        code = qrcode.QRCode(version=version, error_correction=getattr(qrcode, f"ERROR_CORRECT_{level}"), border=0)
        code.add_data(QRData(data, mode=MODE_8BIT_BYTE))
        code.make(fit=False)
        rows = tuple(bytes(bool(m) for m in row) for row in code.modules)
    else:
        raise RenderError(f"unknown QR engine {engine!r}: use one of {', '.join(ENGINES)}")
    return QrSymbol(version, level, rows)


def _runs(symbol: QrSymbol) -> Iterator[tuple[int, int, int]]:
    """Horizontal runs of dark modules as (x, y, width), quiet zone excluded."""
    for y, row in enumerate(symbol.rows):
        x = row.find(1)
        while x >= 0:
            end = row.find(0, x)
            end = len(row) if end < 0 else end
            yield x, y, end - x
            x = row.find(1, end)


# -- PNG and SVG ----------------------------------------------------------------------------------

_TO_GREY = bytes([255, 0]) + bytes(254)  # module 0 (light) -> 255, 1 (dark) -> 0


def _png(symbol: QrSymbol, scale: int = MODULE_PX) -> bytes:
    from PIL import Image

    side = symbol.size + 2 * QUIET_ZONE
    blank, margin = b"\xff" * side, b"\xff" * QUIET_ZONE
    body = [margin + row.translate(_TO_GREY) + margin for row in symbol.rows]
    grey = Image.frombytes("L", (side, side), b"".join([blank] * QUIET_ZONE + body + [blank] * QUIET_ZONE))
    image = grey.resize((side * scale, side * scale), Image.Resampling.NEAREST).convert("1", dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _svg(symbol: QrSymbol, url: str) -> bytes:
    side = symbol.size + 2 * QUIET_ZONE
    path = "".join(f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{w}v1h-{w}z" for x, y, w in _runs(symbol))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 {side} {side}" '
        f'width="{side * MODULE_PX}" height="{side * MODULE_PX}" shape-rendering="crispEdges">'
        f"<title>{escape(url)}</title>"
        f'<rect width="{side}" height="{side}" fill="#fff"/><path fill="#000" d="{path}"/></svg>\n'
    ).encode()


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


@cache
def pdf_fonts() -> tuple[str, str]:
    """Register the label fonts with reportlab once; return the TTF files used (regular, bold)."""
    import reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    regular, bold = _DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"
    if not (regular.is_file() and bold.is_file()):
        shipped = Path(reportlab.__file__).parent / "fonts"
        regular, bold = shipped / "Vera.ttf", shipped / "VeraBd.ttf"
    pdfmetrics.registerFont(TTFont(_FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(_BOLD, str(bold)))
    return str(regular), str(bold)


def _fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` points."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

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
    for mx, my, run in _runs(symbol):
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


def _pdf(labels: Sequence[tuple[str, LabelText | None]], layout: str, ec: str, engine: str | None) -> bytes:
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
        items *= len(_GRIDS[layout].boxes())
    return _pdf(items, layout, ec, None)


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


def _zpl(url: str, text: LabelText | None, ec: str) -> bytes:
    version, level = qr_info(url, ec)
    data = _payload(url)
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


# -- public entry points --------------------------------------------------------------------------


def render(
    url: str,
    fmt: str,
    text: LabelText | None = None,
    *,
    ec: str = "M",
    layout: str = "4x6",
    engine: str | None = None,
) -> bytes:
    """The label for ``url`` as ``fmt`` bytes (PNG and SVG: the bare code; ``text`` is for PDF/ZPL).

    ``layout`` is for PDF only (``letter``/``a4``: a sheet of this one label). ``engine`` picks
    the QR encoder for PNG, SVG and PDF; a ZPL printer encodes the code itself.
    """
    if fmt not in FORMATS:
        raise RenderError(f"unknown label format {fmt!r}: use one of {', '.join(FORMATS)}")
    if layout not in LAYOUTS:
        raise RenderError(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    if layout != "4x6" and fmt != "pdf":
        raise RenderError(f"layout {layout!r} is for PDF only; {fmt} labels are 4x6 or the bare code")
    if fmt == "zpl":
        if engine is not None:
            raise RenderError("engine does not apply to ZPL: the printer encodes the QR code")
        return _zpl(url, text, ec)
    if fmt == "pdf":  # a Letter or A4 sheet is filled with this label
        return _pdf([(url, text)] * len(_GRIDS[layout].boxes()), layout, ec, engine)
    symbol = qr_symbol(url, ec, engine)
    return _png(symbol) if fmt == "png" else _svg(symbol, url)


def decode_details(data: bytes) -> list[DecodedCode]:
    """Every QR code in a PNG or JPEG image, with version and level as zxing-cpp reports them."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise RenderError(f"not a readable PNG or JPEG image ({type(exc).__name__})") from None
    except (OSError, SyntaxError, ValueError, TypeError) as exc:
        raise RenderError(f"not a readable PNG or JPEG image ({' '.join(str(exc).split())})") from None
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:  # dark code on transparency
        white = Image.new("RGBA", image.size, "white")
        white.alpha_composite(image.convert("RGBA"))
        image = white
    found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    return [DecodedCode(c.text, _version_of(c), c.ec_level or None) for c in found]


def _version_of(code: object) -> int | None:
    """The symbol version from zxing-cpp >= 3's ``extra`` dict (None where it has none)."""
    extra = getattr(code, "extra", None)
    value = str(extra.get("Version", "")) if isinstance(extra, dict) else ""
    return int(value) if value.isdigit() else None


def decode_image(data: bytes) -> list[str]:
    """The text of every QR code in a PNG or JPEG image; [] if there is none."""
    return [code.text for code in decode_details(data)]
