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
import http.client
import io
import json
import math
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
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from tracefood.errors import RenderError  # noqa: E402
from tracefood.labels import printed, qr  # noqa: E402 (after the path fix above)
from tracefood.labels import render as lr  # noqa: E402

sys.path.insert(0, str(REPO / "tools"))
import bench_ingest  # noqa: E402  (the ingest benchmark's chain builds the big ledger)

PNG_TARGET_MS = 9.0
PACKAGES = ("segno", "qrcode", "zxing-cpp", "reportlab", "pillow", "pypdfium2")


@dataclass
class Context:
    url: str
    text: printed.LabelText
    seconds: float  # time budget per case
    quick: bool
    scan_events: int = 1_000_000
    labelled: int = 200
    cache: Path = REPO / "bench-results" / "cache"
    _ledger: Any = None

    def ledger(self) -> ScanLedger:
        if self._ledger is None:
            self._ledger = build_scan_ledger(self.scan_events, self.labelled, self.cache)
        return self._ledger  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Row:
    section: str
    case: str
    per_s: float  # calls per second over the whole budget
    p50_ms: float  # median latency of one call
    calls: int
    note: str = ""
    p95_ms: float | None = None
    max_ms: float | None = None


def typical_url(seed: int = 20260815) -> str:
    """A label URL of the shape the signer issues, with a random 64-byte signature."""
    rng = random.Random(seed)
    signature = base64.urlsafe_b64encode(rng.randbytes(64)).rstrip(b"=").decode()
    return f"https://trace.example.qc.ca/01/00614141123452/10/LOT-2026-0815A?11=260815#1.AbCdEfGhIjKl.{signature}"


TYPICAL_TEXT = printed.LabelText(
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
    ordered = sorted(times)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return Row(
        section, case, len(times) / total, median(times) * 1000, len(times), note, p95 * 1000, ordered[-1] * 1000
    )


# -- sections -------------------------------------------------------------------------------------


def _segno_native_png(url: str) -> bytes:
    import segno

    version, ec = qr.qr_info(url)
    out = io.BytesIO()
    code = segno.make_qr(url.encode(), error=ec.lower(), version=version, mode="byte", boost_error=False)
    code.save(out, kind="png", scale=qr.MODULE_PX, border=qr.QUIET_ZONE)
    return out.getvalue()


def _qrcode_native_png(url: str) -> bytes:
    import qrcode
    from qrcode.util import MODE_8BIT_BYTE, QRData

    version, _ = qr.qr_info(url)
    code = qrcode.QRCode(version=version, error_correction=qrcode.ERROR_CORRECT_M, box_size=qr.MODULE_PX)
    code.add_data(QRData(url.encode(), mode=MODE_8BIT_BYTE))
    code.make(fit=False)
    out = io.BytesIO()
    code.make_image().save(out)
    return out.getvalue()


def _zxing_png(url: str) -> bytes:
    import zxingcpp
    from PIL import Image

    code = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    pixels = memoryview(code.to_image(scale=qr.MODULE_PX, add_quiet_zones=True))
    out = io.BytesIO()
    Image.frombytes("L", (pixels.shape[1], pixels.shape[0]), pixels.tobytes()).convert("1").save(out, "PNG")
    return out.getvalue()


def render_rows(ctx: Context) -> list[Row]:
    url, text = ctx.url, ctx.text
    zxing_version = qr.decode_details(_zxing_png(url))[0].version
    cases: list[tuple[str, Callable[[], object], str]] = [
        ("png qrcode", lambda: lr.render(url, "png", engine="qrcode"), "qrcode encoder + Pillow 1-bit PNG"),
        ("png segno", lambda: lr.render(url, "png", engine="segno"), "segno encoder + Pillow 1-bit PNG"),
        ("encode qrcode", lambda: qr.qr_symbol(url, engine="qrcode"), "matrix only (mask search included)"),
        ("encode segno", lambda: qr.qr_symbol(url, engine="segno"), "matrix only (mask search included)"),
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
    if qr.decode_image(png) != [ctx.url]:
        raise SystemExit("decode check failed: the PNG label does not decode to its URL")
    return [
        measure("decode", "decode png (zxing-cpp)", lambda: qr.decode_image(png), ctx, "Pillow open + read_barcodes")
    ]


def sign_rows(ctx: Context) -> list[Row]:
    """Labels issued per second: Ed25519 signing alone, signing + PNG (both encoders) and
    signing + SVG with the key in memory, then the whole issuance through the database
    (custody check, key unsealed once, issuance log insert) + PNG."""
    from tracefood.labels import issuance
    from tracefood.labels import keys as label_keys
    from tracefood.labels import signing as labels

    scan = ctx.ledger()
    private = Ed25519PrivateKey.generate()
    kid = label_keys.key_id(label_keys.raw_public(private.public_key()))
    unsigned = ctx.url.split("#")[0]
    lots = iter(scan.label_ids * 1000)

    def issue_png() -> bytes:
        issued = issuance.issue(scan.ledger, scan.keys, next(lots), bench_ingest.ACTOR, scan.base)
        return lr.render(issued.url, "png")

    cases: list[tuple[str, Callable[[], object], str]] = [
        ("sign only", lambda: labels.sign(unsigned, kid, private), "Ed25519 over the URL (cryptography)"),
        ("sign + png segno", lambda: lr.render(labels.sign(unsigned, kid, private), "png", engine="segno"), "default"),
        ("sign + png qrcode", lambda: lr.render(labels.sign(unsigned, kid, private), "png", engine="qrcode"), ""),
        ("sign + svg", lambda: lr.render(labels.sign(unsigned, kid, private), "svg"), "default engine"),
        ("issue + png (database)", issue_png, f"issuance.issue on the {scan.events:,}-event SQLite ledger"),
    ]
    return [measure("sign", name, fn, ctx, note) for name, fn, note in cases]


def verify_rows(ctx: Context) -> list[Row]:
    """Verifications per second of a label URL: offline from a signed trust list (the border
    verifier), and online against the database (the server's verdict)."""
    from tracefood.labels import db_trust
    from tracefood.labels import signing as labels
    from tracefood.labels.trust import TrustList

    scan = ctx.ledger()
    built = time.perf_counter()
    note = db_trust.trust_list(scan.engine, scan.ledger.signer, base_url=scan.base, hours=24)
    built = time.perf_counter() - built
    trust = TrustList.open(note)
    online = db_trust.DbTrust(scan.engine)
    good = scan.label_urls[0]
    forged = good.replace("#1.", "#1.").rsplit(".", 1)[0] + "." + "A" * 86
    for url, want in ((good, "genuine"), (forged, "bad_signature")):
        got = labels.verify(url, trust).reason
        if got != want:
            raise SystemExit(f"verify check failed: {want} label verified as {got}")
    size = f"trust list {len(note) / 1024:,.0f} KiB, {len(trust.document['issued']):,} labels, built in {built:.2f} s"
    cases: list[tuple[str, Callable[[], object], str]] = [
        ("offline, genuine", lambda: labels.verify(good, trust), size),
        ("offline, forged", lambda: labels.verify(forged, trust), "bad signature: issuance log consulted"),
        ("online, genuine", lambda: labels.verify(good, online), f"DbTrust on the {scan.events:,}-event ledger"),
    ]
    return [measure("verify", name, fn, ctx, note) for name, fn, note in cases]


def scan_rows(ctx: Context) -> list[Row]:
    """The scan page against the served app (``tracefood serve``, 2 workers) on the big ledger:
    one keep-alive client asking for random labelled lots, HTML and JSON, and the verdict API."""
    scan = ctx.ledger()
    port = bench_ingest.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEFOOD_")} | scan.env
    server = subprocess.Popen(
        [sys.executable, "-m", "tracefood", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    rng = random.Random(7)
    try:
        conn = _connect(port)
        paths = [urlsplit(u).path for u in scan.label_urls]
        fragments = [u.split("#", 1)[1] for u in scan.label_urls]

        def get(path: str, headers: dict[str, str]) -> None:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"scan page {path} answered {response.status}: {body[:200]!r}")

        def page() -> None:
            get(rng.choice(paths), {"Accept": "text/html", "Accept-Language": "fr-CA"})

        def page_json() -> None:
            i = rng.randrange(len(paths))
            get(paths[i], {"Accept": "application/json", "Label-Signature": fragments[i]})

        def verdict() -> None:
            body = json.dumps({"url": rng.choice(scan.label_urls).replace(scan.base, f"http://127.0.0.1:{port}")})
            conn.request("POST", "/api/v1/labels/verify", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()

        where = f"{scan.events:,} events, {len(paths)} labelled lots"
        return [
            measure("scan", "page (HTML)", page, ctx, where),
            measure("scan", "page (JSON + verdict)", page_json, ctx, "Label-Signature header"),
            measure("scan", "POST /labels/verify", verdict, ctx, "what the page's script asks"),
        ]
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
        if b"Traceback" in err:
            print(err.decode(), file=sys.stderr)


def _connect(port: int) -> http.client.HTTPConnection:
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return conn
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the served app did not start")


# -- the big ledger (built once per size, kept in bench-results/cache) ---------------------------


@dataclass
class ScanLedger:
    events: int
    url: str
    ledger: Any
    keys: Any
    base: str
    env: dict[str, str]
    label_urls: list[str]
    label_ids: list[str]

    @property
    def engine(self) -> Any:
        return self.ledger.engine


def build_scan_ledger(events: int, labelled: int, cache: Path) -> ScanLedger:
    """A SQLite ledger of ``events`` events from the ingest benchmark's chain, recorded through
    the public EventStore in batches of 1,000, with ``labelled`` case lots labelled."""
    from tracefood.labels import issuance, keystore
    from tracefood.ledger import Ledger, db
    from tracefood.ledger.keys import create_key

    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"scan-{events}.db"
    key_file, master_file = cache / f"scan-{events}.key", cache / f"scan-{events}.master"
    url = f"sqlite:///{path}"
    base = "https://trace.example.qc.ca"
    if not path.exists():
        for stale in (key_file, master_file):
            stale.unlink(missing_ok=True)
        create_key(key_file, bench_ingest.KEY_ORIGIN)
        keystore.ensure_master(master_file)
        bench_ingest._init(url)
        ledger = Ledger.open(url, key_file=key_file, sqlite_synchronous="NORMAL")
        _log(f"building a {events:,}-event ledger in {path} (once; kept for later runs)")
        bench_ingest.measure_readable(ledger, events, bench_ingest.BATCH)
        ledger.close()
    ledger = Ledger.open(url, key_file=key_file, sqlite_synchronous="NORMAL")
    if ledger.size() < events:
        raise SystemExit(f"{path} holds {ledger.size():,} events, not {events:,}: delete it to rebuild")
    keys = keystore.LabelKeys(ledger, keystore.load_master(None, master_file))
    units = max(1, events // bench_ingest.UNIT)
    rng = random.Random(20261128)
    picked = sorted(rng.sample(range(units), min(labelled, units)))
    ids = [f"https://id.gs1.org/01/{bench_ingest._gs1('1754100100018')}/10/C{u:08d}" for u in picked]
    urls = []
    with db.read_snapshot(ledger.engine) as conn:
        done = {r[0]: r[1] for r in conn.execute(text("SELECT subject, url FROM label_issuances ORDER BY seq"))}
    for lot in ids:
        urls.append(done.get(lot) or issuance.issue(ledger, keys, lot, bench_ingest.ACTOR, base).url)
    env = {
        "TRACEFOOD_HOME": str(cache),
        "TRACEFOOD_DATABASE_URL": url,
        "TRACEFOOD_LEDGER_KEY_FILE": str(key_file),
        "TRACEFOOD_LABEL_MASTER_KEY_FILE": str(master_file),
        "TRACEFOOD_PUBLIC_URL": base,
        "TRACEFOOD_SQLITE_SYNCHRONOUS": "NORMAL",
    }
    return ScanLedger(events, url, ledger, keys, base, env, urls, ids)


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


SECTIONS: list[tuple[str, Callable[[Context], list[Row]]]] = [
    ("render", render_rows),
    ("decode", decode_rows),
    ("sign", sign_rows),
    ("verify", verify_rows),
    ("scan", scan_rows),
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
    def ms(value: float | None) -> str:
        return "" if value is None else f"{value:.3f}"

    cells = [
        [r.section, r.case, f"{r.per_s:,.1f}", ms(r.p50_ms), ms(r.p95_ms), ms(r.max_ms), f"{r.calls:,}", r.note]
        for r in rows
    ]
    headers = ["section", "case", "calls/s", "p50 ms", "p95 ms", "max ms", "calls", "note"]
    return render_table(headers, cells, {2, 3, 4, 5, 6})


def checks(rows: Sequence[Row]) -> dict[str, Any]:
    by_case = {r.case: r for r in rows}
    result: dict[str, Any] = {}
    if {"png qrcode", "png segno"} <= by_case.keys():
        faster = min(("qrcode", "segno"), key=lambda e: by_case[f"png {e}"].p50_ms)
        default = by_case[f"png {qr.DEFAULT_ENGINE}"]
        result = {
            "faster_png_engine": faster,
            "default_engine": qr.DEFAULT_ENGINE,
            "default_is_faster": faster == qr.DEFAULT_ENGINE,
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
        "pdf_fonts": list(printed.pdf_fonts()),
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
    p.add_argument(
        "--scan-events", type=int, default=None, help="ledger size for sign/verify/scan (default 10^6; quick 10^4)"
    )
    p.add_argument("--labelled", type=int, default=200, help="lots labelled on that ledger")
    args = p.parse_args(argv)
    if args.seconds is None:
        args.seconds = 0.4 if args.quick else 3.0
    if args.scan_events is None:
        args.scan_events = 10_000 if args.quick else 1_000_000
    known = {name for name, _ in SECTIONS}
    args.sections = [s for s in args.sections.split(",") if s]
    if unknown := set(args.sections) - known:
        p.error(f"unknown sections {sorted(unknown)}; known: {sorted(known)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    url = args.url or typical_url()
    try:
        version, ec = qr.qr_info(url)
    except RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ctx = Context(url=url, text=TYPICAL_TEXT, seconds=args.seconds, quick=args.quick,
                  scan_events=args.scan_events, labelled=args.labelled)  # fmt: skip
    info = machine_info()
    print(f"label URL: {len(url)} characters, QR version {version} at {ec}; {args.seconds:g} s per case\n")
    started = time.monotonic()
    rows = [row for name, section in SECTIONS if name in args.sections for row in section(ctx)]
    print(results_table(rows))
    verdict = checks(rows)
    if verdict:
        met = "PASS" if verdict["png_target_met"] else "FAIL"
        print(
            f"\nPNG, default engine ({qr.DEFAULT_ENGINE}): {verdict['png_default_p50_ms']:.2f} ms "
            f"median, target < {PNG_TARGET_MS:g} ms: {met}; faster engine this run: {verdict['faster_png_engine']}"
        )
        if not verdict["default_is_faster"]:
            print("WARNING: the default PNG engine was not the faster one in this run")
    document = {
        "machine": info,
        "command": [Path(sys.executable).name, *sys.argv],
        "config": {
            "seconds_per_case": args.seconds,
            "quick": args.quick,
            "sections": args.sections,
            "scan_events": args.scan_events,
            "labelled": args.labelled,
        },
        "label": {"url": url, "length": len(url), "qr_version": version, "ec": ec, "module_px": qr.MODULE_PX},
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
