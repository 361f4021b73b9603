"""Label rendering: a signed label URL (already signed, see ``tracefood.labels.signing``) to files.

One entry point, :func:`render`, for every format; the work is done by two modules:

``png``  the bare code, 1 bit per pixel, 8 px per module    } :mod:`tracefood.labels.qr`: the
``svg``  the bare code as one ``<path>`` in a viewBox of     } QR symbol every format shares,
         module units (crisp at any size)                    } and reading codes back
``pdf``  vector modules with the human-readable text: a 4x6 in shipping label, or a Letter /
         A4 sheet of case labels (:mod:`tracefood.labels.printed`)
``zpl``  a Zebra ZPL II label for a 4x6 in label at 203 dpi; the printer encodes the code itself
         (:mod:`tracefood.labels.printed`)
"""

from __future__ import annotations

from tracefood.errors import RenderError
from tracefood.labels.printed import LAYOUTS, LabelText, labels_per_page, pdf, zpl
from tracefood.labels.qr import png, qr_symbol, svg

__all__ = ["FORMATS", "LAYOUTS", "LabelText", "RenderError", "render"]

FORMATS = ("png", "svg", "pdf", "zpl")


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
        return zpl(url, text, ec)
    if fmt == "pdf":  # a Letter or A4 sheet is filled with this label
        return pdf([(url, text)] * labels_per_page(layout), layout, ec, engine)
    symbol = qr_symbol(url, ec, engine)
    return png(symbol) if fmt == "png" else svg(symbol, url)
