"""The QR code of a label: the smallest version that holds the URL, encoded, drawn, and read back.

The QR content is the label URL exactly as given, in byte mode, at the smallest QR version that
holds it at the chosen error correction (:func:`qr_info`), with a 4-module quiet zone. Every
format uses that one symbol: :mod:`tracefood.labels.render` writes it as a bare PNG or SVG here,
:mod:`tracefood.labels.printed` draws it on PDF labels (a ZPL printer encodes it itself, at the
same version and level). :func:`decode_details` reads codes back from a photo, for the verifier
and for tests.

Decisions:

* Encoders: segno (default) and qrcode (``engine=``). segno is faster here (tools/bench_labels.py,
  175-char URL: ~7.4 vs ~9.4 ms, nearly all of it the mask-penalty search). Both hand their
  matrix to one Pillow 1-bit PNG writer (~0.7 ms), 3-4 ms faster than either library's own.
* The version comes from the ISO/IEC 18004 table below and is passed to the encoder, so
  :func:`qr_info` is what every format uses and an over-long URL fails before any library runs.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from xml.sax.saxutils import escape

from tracefood.errors import RenderError

__all__ = [
    "DEFAULT_ENGINE",
    "EC_LEVELS",
    "ENGINES",
    "MODULE_PX",
    "QUIET_ZONE",
    "DecodedCode",
    "QrSymbol",
    "RenderError",
    "byte_capacity",
    "check_payload",
    "decode_details",
    "decode_image",
    "png",
    "qr_info",
    "qr_symbol",
    "runs",
    "svg",
]

EC_LEVELS = ("L", "M", "Q", "H")
ENGINES = ("segno", "qrcode")
DEFAULT_ENGINE = "segno"
MODULE_PX = 8
QUIET_ZONE = 4


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


def _level(ec: object) -> str:
    if isinstance(ec, str) and ec.upper() in EC_LEVELS:
        return ec.upper()
    raise RenderError(f"unknown error correction level {ec!r}: use one of L, M, Q, H")


def check_payload(url: object) -> bytes:
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
    return _version(len(check_payload(url)), level), level


def qr_symbol(url: str, ec: str = "M", engine: str | None = None) -> QrSymbol:
    """Encode ``url`` in byte mode at ``qr_info``'s version with segno (default) or qrcode."""
    level = _level(ec)
    data = check_payload(url)
    version = _version(len(data), level)
    engine = DEFAULT_ENGINE if engine is None else engine
    if engine == "segno":
        import segno

        code = segno.make_qr(data, error=level.lower(), version=version, mode="byte", boost_error=False)
        rows = tuple(bytes(row) for row in code.matrix)
    elif engine == "qrcode":
        import qrcode  # type: ignore[import-untyped]  # qrcode ships no type hints
        from qrcode.util import MODE_8BIT_BYTE, QRData  # type: ignore[import-untyped]

        code = qrcode.QRCode(version=version, error_correction=getattr(qrcode, f"ERROR_CORRECT_{level}"), border=0)
        code.add_data(QRData(data, mode=MODE_8BIT_BYTE))
        code.make(fit=False)
        rows = tuple(bytes(bool(m) for m in row) for row in code.modules)
    else:
        raise RenderError(f"unknown QR engine {engine!r}: use one of {', '.join(ENGINES)}")
    return QrSymbol(version, level, rows)


def runs(symbol: QrSymbol) -> Iterator[tuple[int, int, int]]:
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


def png(symbol: QrSymbol, scale: int = MODULE_PX) -> bytes:
    from PIL import Image

    side = symbol.size + 2 * QUIET_ZONE
    blank, margin = b"\xff" * side, b"\xff" * QUIET_ZONE
    body = [margin + row.translate(_TO_GREY) + margin for row in symbol.rows]
    grey = Image.frombytes("L", (side, side), b"".join([blank] * QUIET_ZONE + body + [blank] * QUIET_ZONE))
    image = grey.resize((side * scale, side * scale), Image.Resampling.NEAREST).convert("1", dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def svg(symbol: QrSymbol, url: str) -> bytes:
    side = symbol.size + 2 * QUIET_ZONE
    path = "".join(f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{w}v1h-{w}z" for x, y, w in runs(symbol))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 {side} {side}" '
        f'width="{side * MODULE_PX}" height="{side * MODULE_PX}" shape-rendering="crispEdges">'
        f"<title>{escape(url)}</title>"
        f'<rect width="{side}" height="{side}" fill="#fff"/><path fill="#000" d="{path}"/></svg>\n'
    ).encode()


# -- reading codes back ---------------------------------------------------------------------------


def decode_details(data: bytes) -> list[DecodedCode]:
    """Every QR code in a PNG or JPEG image, with version and level as zxing-cpp reports them."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise RenderError(f"not a readable PNG or JPEG image ({type(exc).__name__})") from None
    except (OSError, SyntaxError, ValueError, TypeError) as exc:
        raise RenderError(f"not a readable PNG or JPEG image ({' '.join(str(exc).split())})") from None
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:  # dark code on transparency
        white = Image.new("RGBA", image.size, "white")
        white.alpha_composite(image.convert("RGBA"))
        image = white
    found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    return [DecodedCode(c.text, _version_of(c), c.ec_level or None) for c in found]


def _version_of(code: object) -> int | None:
    """The symbol version from zxing-cpp >= 3's ``extra`` dict (None where it has none)."""
    extra = getattr(code, "extra", None)
    value = str(extra.get("Version", "")) if isinstance(extra, dict) else ""
    return int(value) if value.isdigit() else None


def decode_image(data: bytes) -> list[str]:
    """The text of every QR code in a PNG or JPEG image; [] if there is none."""
    return [code.text for code in decode_details(data)]
