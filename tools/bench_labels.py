"""Labels benchmark: rendering signed QR labels (PNG, SVG, PDF, ZPL) and decoding them back.

Run from the repository root (prints a fixed-width table, writes JSON)::

    python tools/bench_labels.py                 # ~3 s per case
    python tools/bench_labels.py --quick         # ~0.4 s per case: a smoke run
    python tools/bench_labels.py --seconds 10 --json-out bench-results/labels.json

Every case renders the same typical label URL (:func:`typical_url`: a GTIN + lot Digital Link
with a GS1 attribute and a version-1 signature fragment, ~175 characters, QR version 9 at M)
with :mod:`tracefood.label_render`, in one process, one case after the other. Each case is
warmed up, then called until its time budget is spent; the table gives calls per second
(calls / total time) and the median latency of one call.

``render``
    ``render(url, "png", engine=...)`` for qrcode and segno (same URL, 8 px modules, same Pillow
    PNG writer: only the QR encoder differs); the encoders alone (``qr_symbol``); for reference
    each library's own PNG writer at the same module size and zxing-cpp's C++ writer (which
    segments the data into mixed modes, hence a smaller version: not byte mode, not an engine);
    then SVG, the PDF 4x6 shipping label, a Letter sheet of 10 case labels, and ZPL.
``decode``
    ``decode_image`` (Pillow + zxing-cpp) on the PNG label, milliseconds per image.

Sections are ``(name, function)`` pairs in :data:`SECTIONS`; each function takes the
:class:`Context` and returns :class:`Row` s, so more sections (label signing and verification,
scan page latency) are one function and one list entry each.

Target (PASS/FAIL row): the default PNG engine renders a label in under 9 ms (median), which
leaves room for signing within the 100 signed PNG labels per second of the design.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gc
import io
import json
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from statistics import median
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from tracefood import label_render as lr  # noqa: E402 (after the path fix above)

PNG_TARGET_MS = 9.0
PACKAGES = ("segno", "qrcode", "zxing-cpp", "reportlab", "pillow", "pypdfium2")


@dataclass(frozen=True)
class Context:
    url: str
    text: lr.LabelText
    seconds: float  # time budget per case
    quick: bool


@dataclass(frozen=True)
class Row:
    section: str
    case: str
    per_s: float  # calls per second over the whole budget
    p50_ms: float  # median latency of one call
    calls: int
    note: str = ""


def typical_url(seed: int = 20260815) -> str:
    """A label URL of the shape the signer issues, with a random 64-byte signature."""
    rng = random.Random(seed)
    signature = base64.urlsafe_b64encode(rng.randbytes(64)).rstrip(b"=").decode()
    return f"https://trace.example.qc.ca/01/00614141123452/10/LOT-2026-0815A?11=260815#1.AbCdEfGhIjKl.{signature}"


TYPICAL_TEXT = lr.LabelText(
    product="Laitue romaine 12 ct",
    producer="Ferme Beaulieu — Saint-Rémi",
    lot="LOT-2026-0815A",
    gtin="00614141123452",
    pack_date="2026-08-15",
    origin="Montérégie, QC",
)


def measure(section: str, case: str, fn: Callable[[], object], ctx: Context, note: str = "") -> Row:
    """Call ``fn`` after 3 warm-up calls until ``ctx.seconds`` have passed (at least 5 calls)."""
    for _ in range(3):
        fn()
    gc.collect()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < 5 or time.perf_counter() - started < ctx.seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    total = time.perf_counter() - started
    return Row(section, case, len(times) / total, median(times) * 1000, len(times), note)


# -- sections -------------------------------------------------------------------------------------


def _segno_native_png(url: str) -> bytes:
    import segno

    version, ec = lr.qr_info(url)
    out = io.BytesIO()
    code = segno.make_qr(url.encode(), error=ec.lower(), version=version, mode="byte", boost_error=False)
    code.save(out, kind="png", scale=lr.MODULE_PX, border=lr.QUIET_ZONE)
    return out.getvalue()


def _qrcode_native_png(url: str) -> bytes:
    import qrcode
    from qrcode.util import MODE_8BIT_BYTE, QRData

    version, _ = lr.qr_info(url)
    code = qrcode.QRCode(version=version, error_correction=qrcode.ERROR_CORRECT_M, box_size=lr.MODULE_PX)
    code.add_data(QRData(url.encode(), mode=MODE_8BIT_BYTE))
    code.make(fit=False)
    out = io.BytesIO()
    code.make_image().save(out)
    return out.getvalue()


def _zxing_png(url: str) -> bytes:
    import zxingcpp
    from PIL import Image

    code = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    pixels = memoryview(code.to_image(scale=lr.MODULE_PX, add_quiet_zones=True))
    out = io.BytesIO()
    Image.frombytes("L", (pixels.shape[1], pixels.shape[0]), pixels.tobytes()).convert("1").save(out, "PNG")
    return out.getvalue()


def render_rows(ctx: Context) -> list[Row]:
    url, text = ctx.url, ctx.text
    zxing_version = lr.decode_details(_zxing_png(url))[0].version
    cases: list[tuple[str, Callable[[], object], str]] = [
        ("png qrcode", lambda: lr.render(url, "png", engine="qrcode"), "qrcode encoder + Pillow 1-bit PNG"),
        ("png segno", lambda: lr.render(url, "png", engine="segno"), "segno encoder + Pillow 1-bit PNG"),
        ("encode qrcode", lambda: lr.qr_symbol(url, engine="qrcode"), "matrix only (mask search included)"),
        ("encode segno", lambda: lr.qr_symbol(url, engine="segno"), "matrix only (mask search included)"),
        ("png qrcode own writer", lambda: _qrcode_native_png(url), "reference: qrcode PilImage"),
        ("png segno own writer", lambda: _segno_native_png(url), "reference: segno's PNG writer"),
        ("png zxing-cpp writer", lambda: _zxing_png(url), f"reference: C++, mixed modes, version {zxing_version}"),
        ("svg", lambda: lr.render(url, "svg"), "default engine"),
        ("pdf 4x6", lambda: lr.render(url, "pdf", text), "vector QR + text, fonts embedded"),
        ("pdf letter sheet", lambda: lr.render(url, "pdf", text, layout="letter"), "10 case labels per call"),
        ("zpl", lambda: lr.render(url, "zpl", text), "the printer encodes the code"),
    ]
    return [measure("render", name, fn, ctx, note) for name, fn, note in cases]


def decode_rows(ctx: Context) -> list[Row]:
    png = lr.render(ctx.url, "png")
    if lr.decode_image(png) != [ctx.url]:
        raise SystemExit("decode check failed: the PNG label does not decode to its URL")
    return [
        measure("decode", "decode png (zxing-cpp)", lambda: lr.decode_image(png), ctx, "Pillow open + read_barcodes")
    ]


SECTIONS: list[tuple[str, Callable[[Context], list[Row]]]] = [
    ("render", render_rows),
    ("decode", decode_rows),
]


# -- report ---------------------------------------------------------------------------------------


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def results_table(rows: Sequence[Row]) -> str:
    cells = [[r.section, r.case, f"{r.per_s:,.1f}", f"{r.p50_ms:.3f}", f"{r.calls:,}", r.note] for r in rows]
    return render_table(["section", "case", "calls/s", "p50 ms", "calls", "note"], cells, {2, 3, 4})


def checks(rows: Sequence[Row]) -> dict[str, Any]:
    by_case = {r.case: r for r in rows}
    result: dict[str, Any] = {}
    if {"png qrcode", "png segno"} <= by_case.keys():
        faster = min(("qrcode", "segno"), key=lambda e: by_case[f"png {e}"].p50_ms)
        default = by_case[f"png {lr.DEFAULT_ENGINE}"]
        result = {
            "faster_png_engine": faster,
            "default_engine": lr.DEFAULT_ENGINE,
            "default_is_faster": faster == lr.DEFAULT_ENGINE,
            "png_default_p50_ms": round(default.p50_ms, 3),
            "png_target_ms": PNG_TARGET_MS,
            "png_target_met": default.p50_ms < PNG_TARGET_MS,
        }
    return result


def machine_info() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "packages": versions,
        "pdf_fonts": list(lr.pdf_fonts()),
        "git_commit": commit,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="smoke run: ~0.4 s per case")
    p.add_argument("--seconds", type=float, default=None, help="time budget per case (default 3; quick 0.4)")
    p.add_argument("--sections", default=",".join(name for name, _ in SECTIONS), help="comma-separated")
    p.add_argument("--url", default=None, help="label URL to render (default: a typical signed label)")
    p.add_argument("--json-out", type=Path, default=Path("bench-results/labels.json"))
    args = p.parse_args(argv)
    if args.seconds is None:
        args.seconds = 0.4 if args.quick else 3.0
    known = {name for name, _ in SECTIONS}
    args.sections = [s for s in args.sections.split(",") if s]
    if unknown := set(args.sections) - known:
        p.error(f"unknown sections {sorted(unknown)}; known: {sorted(known)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    url = args.url or typical_url()
    try:
        version, ec = lr.qr_info(url)
    except lr.RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ctx = Context(url=url, text=TYPICAL_TEXT, seconds=args.seconds, quick=args.quick)
    info = machine_info()
    print(f"label URL: {len(url)} characters, QR version {version} at {ec}; {args.seconds:g} s per case\n")
    started = time.monotonic()
    rows = [row for name, section in SECTIONS if name in args.sections for row in section(ctx)]
    print(results_table(rows))
    verdict = checks(rows)
    if verdict:
        met = "PASS" if verdict["png_target_met"] else "FAIL"
        print(
            f"\nPNG, default engine ({lr.DEFAULT_ENGINE}): {verdict['png_default_p50_ms']:.2f} ms "
            f"median, target < {PNG_TARGET_MS:g} ms: {met}; faster engine this run: {verdict['faster_png_engine']}"
        )
        if not verdict["default_is_faster"]:
            print("WARNING: the default PNG engine was not the faster one in this run")
    document = {
        "machine": info,
        "command": [Path(sys.executable).name, *sys.argv],
        "config": {"seconds_per_case": args.seconds, "quick": args.quick, "sections": args.sections},
        "label": {"url": url, "length": len(url), "qr_version": version, "ec": ec, "module_px": lr.MODULE_PX},
        "results": [asdict(r) for r in rows],
        "checks": verdict,
        "total_seconds": round(time.monotonic() - started, 1),
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"\nJSON written to {args.json_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
