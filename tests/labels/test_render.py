"""Label rendering: every format decodes back to the exact signed URL, at the promised QR version.

PNG is decoded with zxing-cpp; SVG is rasterised for real by Chromium (Playwright, Debian's
``/usr/bin/chromium`` or ``TRACEFOOD_CHROMIUM``; skipped without it unless
``TRACEFOOD_REQUIRE_BROWSER=1``, as in tests/web/test_browser.py); PDF pages are rasterised with
pypdfium2 and their text extracted. ZPL is *not* rasterised (no printer, no Labelary here): its
``^BQ`` field is parsed and checked, and its data re-encoded through the PNG path and decoded.
"""

from __future__ import annotations

import base64
import io
import os
import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pypdfium2 as pdfium
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from tracefood.errors import RenderError, TraceFoodError
from tracefood.labels import printed, qr
from tracefood.labels.printed import LabelText, render_sheet
from tracefood.labels.qr import decode_image, qr_info
from tracefood.labels.render import FORMATS, render

REQUIRED = os.environ.get("TRACEFOOD_REQUIRE_BROWSER") == "1"
CHROMIUM = Path(os.environ.get("TRACEFOOD_CHROMIUM", "/usr/bin/chromium"))
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
AI82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
PAGE_SIZES = {"4x6": (288.0, 432.0), "letter": (612.0, 792.0), "a4": (595.3, 841.9)}


def signature_fragment(rng: random.Random) -> str:
    kid = "".join(rng.choice(B64URL) for _ in range(12))
    return f"#1.{kid}." + base64.urlsafe_b64encode(rng.randbytes(64)).rstrip(b"=").decode()


def lot_url(lot: str = "LOT-2026-0815A", *, host: str = "trace.example.qc.ca", attrs: str = "?11=260815") -> str:
    fragment = signature_fragment(random.Random(lot + host))
    return f"https://{host}/01/00614141123452/10/{quote(lot, safe='')}{attrs}{fragment}"


URL = lot_url()  # 175 characters
LONG_URL = lot_url("LOT-2026-0815A-ROM", host="trace.beaulieu.example.qc.ca", attrs="?11=260815&13=260816")
SSCC_URL = "https://trace.example.qc.ca/00/106141411234567897" + signature_fragment(random.Random(7))
TEXT = LabelText(
    product="Laitue romaine 12 ct",
    producer="Ferme Beaulieu — Saint-Rémi",
    lot="LOT-2026-0815A",
    gtin="00614141123452",
    pack_date="2026-08-15",
    origin="Montérégie, QC",
)
SSCC_TEXT = LabelText(product="Palette mixte — laitues", producer="Ferme Beaulieu", sscc="106141411234567897")


def scan(image: Image.Image) -> list[Any]:
    return list(zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode))


def version_of(code: Any) -> int:
    return int(code.extra["Version"])


def test_urls__are_the_typical_label_shape() -> None:
    assert 170 <= len(URL) <= 180
    assert 190 <= len(LONG_URL) <= 200
    assert "#1." in URL and len(URL.rsplit(".", 1)[1]) == 86


# -- QR version ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [URL, LONG_URL, SSCC_URL], ids=["lot", "long", "sscc"])
def test_qr_info__a_typical_label_fits_version_10_at_m(url: str) -> None:
    version, ec = qr_info(url)
    assert version <= 10
    assert ec == "M"
    assert qr_info(url, "q")[1] == "Q"


def test_qr_info__is_the_smallest_byte_mode_version_qrcode_and_segno_choose() -> None:
    import qrcode
    import segno
    from qrcode.util import MODE_8BIT_BYTE, QRData

    levels = {"L": qrcode.ERROR_CORRECT_L, "M": qrcode.ERROR_CORRECT_M}
    levels |= {"Q": qrcode.ERROR_CORRECT_Q, "H": qrcode.ERROR_CORRECT_H}
    for ec, level in levels.items():
        for version in range(1, 41):
            capacity = qr.byte_capacity(version, ec)
            for length in (capacity, capacity + 1) if version < 40 else (capacity,):
                url = "h" * length
                code = qrcode.QRCode(error_correction=level)
                code.add_data(QRData(url.encode(), mode=MODE_8BIT_BYTE))
                assert qr_info(url, ec)[0] == code.best_fit(), (ec, length)
                if version <= 10:  # segno encodes in full (masks included): keep it to small codes
                    assert qr_info(url, ec)[0] == segno.make_qr(url, error=ec, mode="byte", boost_error=False).version
    assert qr.byte_capacity(10, "M") == 213
    assert qr.byte_capacity(40, "L") == 2953


# -- PNG ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", qr.ENGINES)
@pytest.mark.parametrize("url", [URL, LONG_URL, SSCC_URL], ids=["lot", "long", "sscc"])
def test_png__decodes_to_the_exact_url_at_version_10_or_less_and_ec_m(engine: str, url: str) -> None:
    image = Image.open(io.BytesIO(render(url, "png", TEXT, engine=engine)))
    [code] = scan(image)
    assert code.text == url
    assert code.symbology_identifier == "]Q1"  # QR model 2, no ECI
    assert version_of(code) == qr_info(url)[0] <= 10
    assert code.ec_level == "M"
    modules = 17 + 4 * version_of(code)
    assert image.format == "PNG" and image.mode == "1"
    assert image.size == ((modules + 8) * qr.MODULE_PX,) * 2
    quiet = 4 * qr.MODULE_PX
    for box in [(0, 0, image.width, quiet), (0, 0, quiet, image.height)]:
        assert image.crop(box).getextrema() == (255, 255)  # white quiet zone, 4 modules
    for box in [(0, image.height - quiet, image.width, image.height), (image.width - quiet, 0, *image.size)]:
        assert image.crop(box).getextrema() == (255, 255)


@pytest.mark.parametrize("engine", qr.ENGINES)
def test_png__error_correction_q_when_asked(engine: str) -> None:
    [code] = scan(Image.open(io.BytesIO(render(LONG_URL, "png", ec="q", engine=engine))))
    assert code.text == LONG_URL
    assert code.ec_level == "Q"
    assert version_of(code) == qr_info(LONG_URL, "Q")[0]


def test_png__default_engine_is_segno() -> None:
    assert qr.DEFAULT_ENGINE == "segno"
    assert render(URL, "png") == render(URL, "png", engine="segno")


@settings(max_examples=40, deadline=None)
@given(
    lot=st.text(alphabet=AI82, min_size=1, max_size=20),
    fragment=st.tuples(st.text(B64URL, min_size=12, max_size=12), st.text(B64URL, min_size=86, max_size=86)),
    gtin=st.from_regex(r"\A[0-9]{14}\Z"),
    engine=st.sampled_from(qr.ENGINES),
)
def test_png__random_label_urls_round_trip_exactly(lot: str, fragment: tuple[str, str], gtin: str, engine: str) -> None:
    url = f"https://trace.example.qc.ca/01/{gtin}/10/{quote(lot, safe='')}#1.{fragment[0]}.{fragment[1]}"
    assert decode_image(render(url, "png", engine=engine)) == [url]
    [code] = qr.decode_details(render(url, "png", engine=engine))
    assert (code.version, code.ec) == qr_info(url)


# -- decode_image -------------------------------------------------------------------------------


def test_decode_image__reads_a_jpeg_too() -> None:
    out = io.BytesIO()
    Image.open(io.BytesIO(render(URL, "png"))).convert("RGB").save(out, "JPEG", quality=80)
    assert decode_image(out.getvalue()) == [URL]


@pytest.mark.parametrize("mode", ["RGBA", "P"])
def test_decode_image__reads_a_dark_code_on_a_transparent_background(mode: str) -> None:
    code = Image.open(io.BytesIO(render(URL, "png"))).convert("L")
    clear = Image.new("RGBA", code.size, (0, 0, 0, 0))
    clear.paste((0, 0, 0, 255), mask=code.point(lambda v: 255 - v))
    out = io.BytesIO()
    (clear if mode == "RGBA" else clear.convert("P")).save(out, "PNG")
    assert decode_image(out.getvalue()) == [URL]


def test_decode_image__an_image_without_a_code_gives_nothing() -> None:
    out = io.BytesIO()
    Image.new("RGB", (200, 120), "white").save(out, "PNG")
    assert decode_image(out.getvalue()) == []


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", b"%PDF-1.4\n", render(URL, "png")[:200], render(URL, "svg")],
    ids=["empty", "text", "pdf", "truncated-png", "svg"],
)
def test_decode_image__non_image_bytes_raise_render_error(data: bytes) -> None:
    with pytest.raises(RenderError) as caught:
        decode_image(data)
    assert "\n" not in str(caught.value)


# -- SVG ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module (skipped without it, a failure under TRACEFOOD_REQUIRE_BROWSER=1)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if REQUIRED:
            raise
        pytest.skip("playwright is not installed (pip install -e .[test])")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TRACEFOOD_CHROMIUM)"
        if REQUIRED:
            pytest.fail(message + "; TRACEFOOD_REQUIRE_BROWSER=1 requires it")
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless=new"])
        yield launched
        launched.close()


def test_svg__is_valid_xml_with_a_viewbox_title_and_no_bitmap() -> None:
    svg = render(URL, "svg", TEXT)
    root = ET.fromstring(svg)  # noqa: S314 (our own output, not untrusted input)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    side = 17 + 4 * qr_info(URL)[0] + 8
    assert root.get("viewBox") == f"0 0 {side} {side}"
    assert root.findtext(f"{ns}title") == URL
    assert [child.tag for child in root] == [f"{ns}title", f"{ns}rect", f"{ns}path"]
    assert root.find(f"{ns}path").get("d", "").startswith(f"M{qr.QUIET_ZONE} {qr.QUIET_ZONE}h7")  # finder pattern
    assert b"<image" not in svg


@pytest.mark.parametrize(("url", "ec", "width"), [(URL, "M", 520), (LONG_URL, "M", 333), (SSCC_URL, "Q", 400)])
def test_svg__rasterised_by_chromium_decodes_to_the_exact_url(browser: Any, url: str, ec: str, width: int) -> None:
    svg = render(url, "svg", ec=ec)
    source = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    page = browser.new_page(viewport={"width": width + 40, "height": width + 40})
    try:
        page.set_content(f'<body style="margin:20px;background:#fff"><img id="qr" width="{width}" src="{source}">')
        png = page.locator("#qr").screenshot()
    finally:
        page.close()
    [code] = qr.decode_details(png)
    assert code.text == url
    assert (code.version, code.ec) == qr_info(url, ec)


# -- PDF ----------------------------------------------------------------------------------------


def pdf_pages(data: bytes, scale: float = 3.0) -> list[tuple[tuple[float, float], list[Any], str, int]]:
    """(size in points, decoded codes, text, image objects) for each page."""
    document = pdfium.PdfDocument(data)
    pages = []
    try:
        for index in range(len(document)):
            page = document[index]
            bitmap = page.render(scale=scale, grayscale=True)
            image = bitmap.to_pil()
            textpage = page.get_textpage()
            images = sum(1 for obj in page.get_objects() if obj.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE)
            pages.append((page.get_size(), scan(image), textpage.get_text_range(), images))
            textpage.close()
            bitmap.close()
            page.close()
    finally:
        document.close()
    return pages


def assert_page_size(size: tuple[float, float], layout: str) -> None:
    assert size == pytest.approx(PAGE_SIZES[layout], abs=0.1)


def test_pdf__4x6_shipping_label_has_the_code_and_the_text() -> None:
    [(size, codes, text, images)] = pdf_pages(render(URL, "pdf", TEXT))
    assert_page_size(size, "4x6")
    assert [(c.text, version_of(c), c.ec_level) for c in codes] == [(URL, qr_info(URL)[0], "M")]
    assert images == 0  # the modules are vector paths, not a bitmap
    for value in ("Laitue romaine 12 ct", "LOT-2026-0815A", "Ferme Beaulieu — Saint-Rémi", "00614141123452"):
        assert value in text
    assert "2026-08-15" in text and "Montérégie, QC" in text
    assert URL in re.sub(r"\s+", "", text)  # the URL in small print, wrapped


def test_pdf__sscc_label_at_ec_h() -> None:
    [(size, codes, text, _)] = pdf_pages(render(SSCC_URL, "pdf", SSCC_TEXT, ec="H"))
    assert_page_size(size, "4x6")
    assert [(c.text, c.ec_level) for c in codes] == [(SSCC_URL, "H")]
    assert "SSCC 106141411234567897" in text and "Palette mixte — laitues" in text


def test_pdf__without_text_is_the_code_and_the_url() -> None:
    [(_, codes, text, _)] = pdf_pages(render(URL, "pdf"))
    assert [c.text for c in codes] == [URL]
    assert re.sub(r"\s+", "", text) == URL


@pytest.mark.parametrize("layout", ["letter", "a4"])
def test_pdf__a_sheet_repeats_the_case_label_ten_times(layout: str) -> None:
    [(size, codes, text, images)] = pdf_pages(render(URL, "pdf", TEXT, layout=layout), scale=2.5)
    assert_page_size(size, layout)
    assert [c.text for c in codes] == [URL] * 10
    assert {(version_of(c), c.ec_level) for c in codes} == {(qr_info(URL)[0], "M")}
    assert images == 0
    text = " ".join(text.split())  # a long line may wrap on a case label
    assert text.count("Producer Ferme Beaulieu — Saint-Rémi") == 10 and text.count("Lot LOT-2026-0815A") == 10


def test_render_sheet__more_labels_than_a_page_go_on_more_pages() -> None:
    lots = [f"LOT-2026-08{i:02d}" for i in range(12)]
    labels = [(lot_url(lot), LabelText("Laitue romaine", "Ferme Beaulieu", lot=lot)) for lot in lots]
    pages = pdf_pages(render_sheet(labels, layout="a4"), scale=2.5)
    assert len(pages) == 2
    assert [len(codes) for _, codes, _, _ in pages] == [10, 2]
    assert sorted(c.text for _, codes, _, _ in pages for c in codes) == sorted(url for url, _ in labels)
    assert all(lot in pages[1][2] for lot in lots[10:]) and all(lot in pages[0][2] for lot in lots[:10])


def test_render_sheet__one_label_fills_the_sheet_and_4x6_is_one_per_page() -> None:
    assert [len(codes) for _, codes, _, _ in pdf_pages(render_sheet([(URL, TEXT)]), scale=2.5)] == [10]
    pages = pdf_pages(render_sheet([(URL, TEXT), (SSCC_URL, SSCC_TEXT)], layout="4x6"))
    assert [[c.text for c in codes] for _, codes, _, _ in pages] == [[URL], [SSCC_URL]]


def test_pdf__without_dejavu_the_font_shipped_with_reportlab_keeps_the_accents(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(printed, "_DEJAVU", Path("/nonexistent"))
    printed.pdf_fonts.cache_clear()
    try:
        regular, _ = printed.pdf_fonts()
        assert Path(regular).name == "Vera.ttf" and Path(regular).is_file()
        [(_, codes, text, _)] = pdf_pages(render(URL, "pdf", TEXT))
    finally:
        monkeypatch.undo()
        printed.pdf_fonts.cache_clear()
        printed.pdf_fonts()
    assert [c.text for c in codes] == [URL]
    assert "Ferme Beaulieu — Saint-Rémi" in text and "Montérégie, QC" in text


# -- ZPL ----------------------------------------------------------------------------------------
# ZPL is not rasterised here (no Zebra printer, and the Labelary API is unreachable): the ^BQ field
# is parsed and checked against the ZPL II guide, then its data is encoded through the PNG path
# at the same error correction and decoded.

QR_FIELD = re.compile(r"\^FO(\d+),(\d+)\^BQN,(\d),(\d+),([LMQH])(\^FH)?\^FD(.*?)\^FS", re.DOTALL)
TEXT_FIELD = re.compile(r"\^FO(\d+),(\d+)\^A0N,(\d+),(\d+)\^FB(\d+),(\d+),0,L,0(\^FH)?\^FD(.*?)\^FS", re.DOTALL)


def field_data(data: str, hex_escaped: bool) -> str:
    """^FD data as the printer reads it: ^FH hex escapes (indicator '_') decoded."""
    if not hex_escaped:
        return data
    return re.sub(r"_([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), data)


def parse_zpl(zpl: str) -> dict[str, Any]:
    assert zpl.startswith("^XA\n^CI28\n") and zpl.rstrip().endswith("^XZ")
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1
    assert re.search(r"\^PW(\d+)", zpl).group(1) == str(printed.ZPL_WIDTH) == "812"
    assert re.search(r"\^LL(\d+)", zpl).group(1) == str(printed.ZPL_HEIGHT) == "1218"
    [qr] = QR_FIELD.findall(zpl)
    x, y, model, magnification, ec, fh, raw = qr
    match = re.fullmatch(r"([LMQH])M,B(\d{4})(.*)", field_data(raw, bool(fh)), re.DOTALL)
    assert match, raw
    fields = TEXT_FIELD.findall(zpl)
    for data in [raw, *(field[7] for field in fields)]:
        assert "^" not in data and "~" not in data  # only as ^FH escapes
    texts = [(int(f[0]), int(f[1]), int(f[2]), int(f[4]), int(f[5]), field_data(f[7], bool(f[6]))) for f in fields]
    return {
        "origin": (int(x), int(y)),
        "model": int(model),
        "magnification": int(magnification),
        "ec": ec,
        "fd_ec": match.group(1),
        "count": int(match.group(2)),
        "data": match.group(3),
        "texts": texts,
    }


@pytest.mark.parametrize(("url", "text", "ec"), [(URL, TEXT, "M"), (LONG_URL, TEXT, "q"), (SSCC_URL, SSCC_TEXT, "H")])
def test_zpl__qr_field_holds_exactly_the_url_and_fits_4x6_at_203_dpi(url: str, text: LabelText, ec: str) -> None:
    zpl = render(url, "zpl", text, ec=ec).decode("utf-8")
    label = parse_zpl(zpl)
    version, level = qr_info(url, ec)
    assert label["data"] == url and label["count"] == len(url.encode())
    assert label["ec"] == label["fd_ec"] == level
    assert label["model"] == 2 and 4 <= label["magnification"] <= 10
    x, y = label["origin"]
    quiet = 4 * label["magnification"]
    extent = (17 + 4 * version) * label["magnification"]
    assert x - quiet >= 0 and y - quiet >= 0
    assert x + extent + quiet <= 812 and y + extent + quiet <= 1218
    for tx, ty, height, width, lines, _ in label["texts"]:
        assert tx >= 0 and tx + width <= 812 and ty + height * lines <= 1218
        assert ty >= y + extent + quiet  # text below the code and its quiet zone
    printed = "\n".join(t[-1] for t in label["texts"])
    for value in filter(None, [text.product, text.lot, text.producer, text.gtin, text.sscc, text.pack_date]):
        assert value in printed
    # Cross-check: the field data, encoded at the field's level by our PNG path, decodes to the URL.
    [code] = qr.decode_details(render(label["data"], "png", ec=label["fd_ec"]))
    assert (code.text, code.ec, code.version) == (url, level, version)


def test_zpl__caret_tilde_and_backslash_are_escaped() -> None:
    url = "https://trace.example.qc.ca/01/00614141123452/10/A~1" + signature_fragment(random.Random(3))
    text = LabelText(product="Crème ^brûlée~ 50_50 \\ bio", producer="Ferme Beaulieu", lot="A~1")
    label = parse_zpl(render(url, "zpl", text).decode("utf-8"))
    assert label["data"] == url and label["count"] == len(url.encode())
    product = label["texts"][0][-1]
    assert product.replace("\\\\", "\\") == "Crème ^brûlée~ 50_50 \\ bio"  # ^FB reads "\\" as "\"
    assert decode_image(render(label["data"], "png")) == [url]


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: render(URL, "gif"), "unknown label format"),
        (lambda: render(URL, "pdf", layout="legal"), "unknown layout"),
        (lambda: render(URL, "png", layout="letter"), "for PDF only"),
        (lambda: render(URL, "png", ec="X"), "error correction"),
        (lambda: qr_info(URL, ""), "error correction"),
        (lambda: render(URL, "png", engine="zint"), "unknown QR engine"),
        (lambda: render(URL, "zpl", engine="segno"), "ZPL"),
        (lambda: render("", "png"), "non-empty"),
        (lambda: render("https://x.example/a b", "svg"), "space"),
        (lambda: render_sheet([]), "at least one label"),
        (lambda: render_sheet([(URL, TEXT)], layout="a5"), "unknown layout"),
    ],
)
def test_errors__user_errors_raise_one_line_render_error(call: Any, words: str) -> None:
    with pytest.raises(RenderError) as caught:
        call()
    assert words in str(caught.value) and "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TraceFoodError)
    assert caught.value.status == 422


@pytest.mark.parametrize("fmt", FORMATS)
def test_errors__a_url_longer_than_a_qr_code_holds(fmt: str) -> None:
    url = "https://trace.example.qc.ca/" + "a" * 2400
    with pytest.raises(RenderError, match=r"^the URL is 2428 bytes, more than a QR code holds at error correction M"):
        render(url, fmt, TEXT)
    with pytest.raises(RenderError, match="at error correction H"):
        qr_info("https://trace.example.qc.ca/" + "a" * 1260, "h")
    assert qr_info("h" * 2331)[0] == 40  # the largest that fits at M
