"""Ingest benchmark: events through validation, event hashing, ledger append and projections.

Run from the repository root (one command; prints a fixed-width table, writes JSON)::

    python tools/bench_ingest.py                       # 100,000 events on SQLite and PostgreSQL
    python tools/bench_ingest.py --quick               # 10,000 events: a smoke run
    python tools/bench_ingest.py --events 30000 --engines sqlite --json bench-results/ingest.json

The workload is a deterministic synthetic chain under ONE producer party (a cooperative that
operates a farm, a packhouse, a distribution centre and a store; two products with GTINs). Each
unit of 10 readable events: harvest a lot (1000 KGM) at the farm, ship it to the packhouse (bill
of lading), receive it, initial_pack it into a new case lot (100 CS), aggregate the cases onto a
pallet SSCC, ship the pallet to the DC, receive it, disaggregate, ship 50 cases to the store and
receive them there. Event times are one minute apart from 2025-01-01T00:00Z; lot codes and SSCCs
are unique per unit.

What is measured, per engine, each on a fresh database built by the Alembic migrations (a SQLite
file in a temporary directory, or a new PostgreSQL schema dropped afterwards):

``readable batches``
    ``EventStore.record`` with batches of 1,000 readable events (100 units); events/s is total
    events over the wall time of all ``record`` calls (event generation is not timed);
    p50/p95 latency is per batch.
``EPCIS capture``
    The recorded events exported with ``export_document``, split into EPCISDocuments of 1,000
    events and captured with ``EventStore.capture`` into another fresh database with the same
    registry (export and splitting not timed).
``HTTP single event``
    ``create_app`` served by 2 waitress worker processes (2 threads each) in a child process on the readable-batches
    database; 4 client threads, each with one keep-alive ``http.client`` connection, POST one
    readable event per request to ``/api/v1/events`` (Bearer token of the cooperative, role
    producer), continuing the chain with new units so every request creates an event (201).
    Runs for ``--http-seconds`` or until ``--events`` requests, whichever comes first.

The CBV event hash comparison is ``tools/bench_hash.run(min(events, 10_000))`` (TraceFood's
``event_hash_id`` against the PyPI package epcis-event-hash-generator); its ratio is reported.

Targets: >= 5,000 events/s for readable batches and EPCIS capture on both engines; >= 300
single-event requests/s.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import http.client
import io
import json
import math
import os
import platform
import pstats
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine

REPO = Path(__file__).resolve().parent.parent
TOOLS = Path(__file__).resolve().parent
for path in (REPO, TOOLS):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import bench  # noqa: E402  (the ledger benchmark: shared database helpers)

import tracefood  # noqa: E402
from tracefood.chain.capture import EventStore  # noqa: E402
from tracefood.chain.export import export_document  # noqa: E402
from tracefood.chain.registry import OPERATOR, Actor, Registry  # noqa: E402
from tracefood.epcis.digital_link import gs1_check_digit  # noqa: E402
from tracefood.ledger import Ledger, db  # noqa: E402
from tracefood.ledger.keys import create_key  # noqa: E402

DEFAULT_PG_URL = os.environ.get("TRACEFOOD_BENCH_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ENGINES = ("sqlite", "postgresql")
KEY_ORIGIN = "bench.tracefood/ledger"
BATCH = 1_000
UNIT = 10  # events per unit of the chain
CLIENT_THREADS = 16
SERVER_WORKERS = 2  # processes (the issue: "the served app (2 workers)")
SERVER_THREADS = 8  # per worker: `tracefood serve`'s default

BATCH_TARGET_EPS = 5_000.0
HTTP_TARGET_RPS = 300.0

START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
PARTY = "coop"


# -- the registry world ------------------------------------------------------------------------


def _gs1(body: str) -> str:
    return body + gs1_check_digit(body)


REGISTRY: list[tuple[str, dict[str, Any]]] = [
    ("party", {"id": PARTY, "name": "Cooperative", "gln": _gs1("754100000001"), "country": "CA"}),
    (
        "location",
        {"id": "farm", "name": "Farm", "party": PARTY, "kind": "farm", "gln": _gs1("754100000101"), "country": "CA"},
    ),
    (
        "location",
        {
            "id": "packhouse",
            "name": "Packhouse",
            "party": PARTY,
            "kind": "packhouse",
            "gln": _gs1("754100000102"),
            "country": "CA",
        },
    ),
    (
        "location",
        {
            "id": "dc",
            "name": "Distribution centre",
            "party": PARTY,
            "kind": "distribution_centre",
            "gln": _gs1("754100000103"),
            "country": "CA",
        },
    ),
    (
        "location",
        {
            "id": "store",
            "name": "Store",
            "party": PARTY,
            "kind": "retail",
            "gln": _gs1("754100000104"),
            "country": "CA",
        },
    ),
    (
        "product",
        {
            "id": "greens",
            "gtin": _gs1("0754100100011"),
            "description": "Field greens",
            "commodity": "lettuce",
            "unit": "KGM",
            "ftl": True,
        },
    ),
    (
        "product",
        {
            "id": "case",
            "gtin": _gs1("1754100100018"),
            "description": "Salad case",
            "commodity": "salad mix",
            "unit": "CS",
            "ftl": True,
        },
    ),
]


def build_registry(engine: Engine) -> Registry:
    registry = Registry(engine)
    for entity, row in REGISTRY:
        registry.create(entity, row, OPERATOR)
    return registry


# -- the chain ---------------------------------------------------------------------------------


def _time(index: int) -> str:
    return (START + dt.timedelta(minutes=index)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sscc(unit: int) -> str:
    return _gs1("0" + "7541001" + f"{unit:09d}")


def unit_events(unit: int) -> list[dict[str, Any]]:
    """The 10 readable events of one unit; event i of the chain happens at START + i minutes."""
    base = unit * UNIT
    harvest_lot, case_lot, pallet = f"H{unit:08d}", f"C{unit:08d}", _sscc(unit)
    greens = [{"product": "greens", "lot": harvest_lot, "quantity": "1000"}]
    cases = [{"product": "case", "lot": case_lot, "quantity": "100"}]
    half = [{"product": "case", "lot": case_lot, "quantity": "50"}]

    def bol(tag: str) -> dict[str, str]:
        return {"type": "bol", "number": f"{tag}-{unit:08d}"}

    return [
        {"kind": "harvest", "time": _time(base), "location": "farm", "items": greens},
        {
            "kind": "ship",
            "time": _time(base + 1),
            "location": "farm",
            "to": "packhouse",
            "items": greens,
            "reference": bol("F"),
        },
        {
            "kind": "receive",
            "time": _time(base + 2),
            "location": "packhouse",
            "from": "farm",
            "items": greens,
            "reference": bol("F"),
        },
        {"kind": "initial_pack", "time": _time(base + 3), "location": "packhouse", "inputs": greens, "outputs": cases},
        {"kind": "aggregate", "time": _time(base + 4), "location": "packhouse", "parent": pallet, "items": cases},
        {
            "kind": "ship",
            "time": _time(base + 5),
            "location": "packhouse",
            "to": "dc",
            "containers": [pallet],
            "reference": bol("P"),
        },
        {
            "kind": "receive",
            "time": _time(base + 6),
            "location": "dc",
            "from": "packhouse",
            "containers": [pallet],
            "reference": bol("P"),
        },
        {"kind": "disaggregate", "time": _time(base + 7), "location": "dc", "parent": pallet, "items": cases},
        {
            "kind": "ship",
            "time": _time(base + 8),
            "location": "dc",
            "to": "store",
            "items": half,
            "reference": bol("S"),
        },
        {
            "kind": "receive",
            "time": _time(base + 9),
            "location": "store",
            "from": "dc",
            "items": half,
            "reference": bol("S"),
        },
    ]


def batches(first_unit: int, events: int, batch: int) -> Iterator[list[dict[str, Any]]]:
    """Batches of ``batch`` events (whole units) covering ``events`` events from ``first_unit``."""
    per = max(1, batch // UNIT)
    units = math.ceil(events / UNIT)
    for start in range(first_unit, first_unit + units, per):
        out: list[dict[str, Any]] = []
        for u in range(start, min(start + per, first_unit + units)):
            out.extend(unit_events(u))
        yield out


# -- measurements ------------------------------------------------------------------------------


def _percentile(ordered: Sequence[float], q: float) -> float:
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def latency(seconds: Sequence[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    if not ordered:
        return {"samples": 0}
    return {
        "samples": len(ordered),
        "p50_ms": _percentile(ordered, 0.5) * 1e3,
        "p95_ms": _percentile(ordered, 0.95) * 1e3,
        "max_ms": ordered[-1] * 1e3,
        "mean_ms": sum(ordered) / len(ordered) * 1e3,
    }


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


ACTOR = Actor("producer", PARTY, "bench")


def measure_readable(ledger: Ledger, events: int, batch: int) -> dict[str, Any]:
    store = EventStore(ledger)
    timings: list[float] = []
    count = 0
    for chunk in batches(0, events, batch):
        t0 = time.perf_counter()
        receipts = store.record(chunk, ACTOR)
        timings.append(time.perf_counter() - t0)
        assert all(r.created for r in receipts), "a readable event was not created"
        count += len(receipts)
        if len(timings) % 10 == 0:
            _log(f"  readable: {count:,} events, {count / sum(timings):,.0f} events/s")
    total = sum(timings)
    return {"events": count, "seconds": total, "events_per_s": count / total, "batch_latency": latency(timings)}


def split_document(document: dict[str, Any], size: int) -> list[dict[str, Any]]:
    event_list = document["epcisBody"]["eventList"]
    head = {k: v for k, v in document.items() if k != "epcisBody"}
    return [{**head, "epcisBody": {"eventList": event_list[i : i + size]}} for i in range(0, len(event_list), size)]


def measure_capture(ledger: Ledger, documents: list[dict[str, Any]]) -> dict[str, Any]:
    store = EventStore(ledger)
    timings: list[float] = []
    count = 0
    for doc in documents:
        t0 = time.perf_counter()
        receipts = store.capture(doc, ACTOR)
        timings.append(time.perf_counter() - t0)
        assert all(r.created for r in receipts), "a captured event was not created"
        count += len(receipts)
        if len(timings) % 10 == 0:
            _log(f"  capture: {count:,} events, {count / sum(timings):,.0f} events/s")
    total = sum(timings)
    return {"events": count, "seconds": total, "events_per_s": count / total, "document_latency": latency(timings)}


# -- HTTP --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_child(url: str, key_file: str, home: str, port: str) -> int:
    """``--_serve``: the app under waitress with SERVER_THREADS threads (a child process)."""
    from tracefood.web.app import create_app
    from tracefood.web.server import serve

    config = {"DATABASE_URL": url, "LEDGER_KEY_FILE": key_file, "SECRET_KEY": "bench", "HOME": home}
    serve(lambda: create_app(config), "127.0.0.1", int(port), threads=SERVER_THREADS, workers=SERVER_WORKERS)
    return 0


@contextmanager
def served(url: str, key_file: Path, home: Path) -> Iterator[int]:
    port = free_port()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_serve", url, str(key_file), str(home), str(port)]
    log = open(home / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited ({proc.returncode}): {(home / 'server.log').read_text()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                resp.read()
                conn.close()
                if resp.status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become healthy in 60 s")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def measure_http(port: int, token: str, first_unit: int, limit: int, seconds: float) -> dict[str, Any]:
    """CLIENT_THREADS keep-alive clients; thread t posts units first_unit + t, + t + threads, ..."""
    lock = threading.Lock()
    latencies: list[list[float]] = [[] for _ in range(CLIENT_THREADS)]
    statuses: dict[int, int] = {}
    first_error: list[str] = []
    sent = [0]
    start_gate = threading.Barrier(CLIENT_THREADS + 1)
    stop_at = [0.0]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Connection": "keep-alive"}

    def client(t: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = latencies[t]
        unit = first_unit + t
        start_gate.wait()
        while True:
            for event in unit_events(unit):
                with lock:
                    if sent[0] >= limit or time.perf_counter() >= stop_at[0]:
                        conn.close()
                        return
                    sent[0] += 1
                body = json.dumps(event).encode()
                t0 = time.perf_counter()
                conn.request("POST", "/api/v1/events", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                mine.append(time.perf_counter() - t0)
                with lock:
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
                    if resp.status != 201 and not first_error:
                        first_error.append(f"{resp.status} {data[:500]!r} for {event}")
            unit += CLIENT_THREADS

    threads = [threading.Thread(target=client, args=(t,), daemon=True) for t in range(CLIENT_THREADS)]
    for th in threads:
        th.start()
    t0 = time.perf_counter()
    stop_at[0] = t0 + seconds
    start_gate.wait()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    done = sum(len(x) for x in latencies)
    ok = statuses.get(201, 0)
    return {
        "requests": done,
        "created_201": ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "first_error": first_error[0] if first_error else None,
        "seconds": wall,
        "requests_per_s": done / wall,
        "created_per_s": ok / wall,
        "latency": latency([x for xs in latencies for x in xs]),
        "client_threads": CLIENT_THREADS,
        "server_threads": SERVER_THREADS,
        "server_workers": SERVER_WORKERS,
    }


# -- databases ---------------------------------------------------------------------------------


@contextmanager
def fresh_database(engine_name: str, workdir: Path, tag: str, admin: Engine | None, pg_url: str) -> Iterator[str]:
    """A URL to an empty database with the migrations applied and the registry; removed afterwards."""
    with bench.fresh_database(engine_name, workdir, f"ingest-{tag}", admin, pg_url) as url:
        _init(url)
        yield url


def _init(url: str) -> None:
    from tracefood import schema

    engine = db.make_engine(url)
    try:
        schema.upgrade(engine)
        build_registry(engine)
    finally:
        engine.dispose()


# -- one engine --------------------------------------------------------------------------------


def bench_engine(engine_name: str, args: argparse.Namespace, workdir: Path, admin: Engine | None) -> dict[str, Any]:
    key_file = workdir / f"{engine_name}.key"
    if not key_file.exists():
        create_key(key_file, KEY_ORIGIN)
    out: dict[str, Any] = {"engine": engine_name}
    with fresh_database(engine_name, workdir, f"{engine_name}-readable", admin, args.postgresql_url) as url:
        ledger = Ledger.open(url, key_file)
        try:
            _log(f"{engine_name}: readable batches, {args.events:,} events")
            out["readable"] = measure_readable(ledger, args.events, args.batch)
            t0 = time.perf_counter()
            document = export_document(ledger.engine)
            documents = split_document(document, args.batch)
            out["export_seconds"] = time.perf_counter() - t0
            token, _ = Registry(ledger.engine).create_token(PARTY, "producer", OPERATOR)
        finally:
            ledger.close()
        del document
        if not args.no_http:
            _log(f"{engine_name}: HTTP single events for {args.http_seconds:.0f} s")
            home = workdir / f"home-{engine_name}"
            home.mkdir(mode=0o700, exist_ok=True)
            with served(url, key_file, home) as port:
                first_unit = math.ceil(args.events / UNIT)
                out["http"] = measure_http(port, token, first_unit, args.events, args.http_seconds)
            _log(f"  http: {out['http']['requests_per_s']:,.0f} requests/s, statuses {out['http']['statuses']}")
    # Another ledger, so another key: a key's witness file (the last checkpoint it signed,
    # kept beside it) belongs to one ledger, and every growing write checks it.
    capture_key = workdir / f"{engine_name}-capture.key"
    if not capture_key.exists():
        create_key(capture_key, KEY_ORIGIN)
    with fresh_database(engine_name, workdir, f"{engine_name}-capture", admin, args.postgresql_url) as url:
        ledger = Ledger.open(url, capture_key)
        try:
            _log(f"{engine_name}: EPCIS capture, {len(documents)} documents")
            out["capture"] = measure_capture(ledger, documents)
        finally:
            ledger.close()
    return out


def profile_readable(
    engine_name: str, events: int, args: argparse.Namespace, workdir: Path, admin: Engine | None
) -> str:
    key_file = workdir / f"profile-{engine_name}.key"
    create_key(key_file, KEY_ORIGIN)
    with fresh_database(engine_name, workdir, f"{engine_name}-profile", admin, args.postgresql_url) as url:
        ledger = Ledger.open(url, key_file)
        try:
            chunks = list(batches(0, events, args.batch))
            store = EventStore(ledger)
            prof = cProfile.Profile()
            prof.enable()
            for chunk in chunks:
                store.record(chunk, ACTOR)
            prof.disable()
        finally:
            ledger.close()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(args.profile_top)
    return buf.getvalue()


# -- report ------------------------------------------------------------------------------------


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def checks_and_rows(
    results: list[dict[str, Any]], hashing: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], list[list[str]]]:
    checks: list[dict[str, Any]] = []
    rows: list[list[str]] = []

    def add(engine: str, measure: str, value: float | None, target: float | None, digits: int = 0) -> None:
        met = None if target is None or value is None else value >= target
        checks.append({"engine": engine, "measure": measure, "value": value, "target": target, "met": met})
        rows.append(
            [
                engine,
                measure,
                _num(value, digits),
                "-" if target is None else f">= {target:,.0f}",
                "-" if met is None else ("yes" if met else "NO"),
            ]
        )

    for r in results:
        e = r["engine"]
        rd = r["readable"]
        add(e, "readable batches of 1,000: events/s", rd["events_per_s"], BATCH_TARGET_EPS)
        add(e, "readable batch latency p50 ms", rd["batch_latency"]["p50_ms"], None, 1)
        add(e, "readable batch latency p95 ms", rd["batch_latency"]["p95_ms"], None, 1)
        cp = r["capture"]
        add(e, "EPCIS capture docs of 1,000: events/s", cp["events_per_s"], BATCH_TARGET_EPS)
        add(e, "EPCIS capture doc latency p50 ms", cp["document_latency"]["p50_ms"], None, 1)
        if "http" in r:
            h = r["http"]
            add(e, f"HTTP single event: requests/s ({h['created_201']:,} x 201)", h["requests_per_s"], HTTP_TARGET_RPS)
            add(e, "HTTP single event latency p50 ms", h["latency"].get("p50_ms"), None, 1)
            add(e, "HTTP single event latency p95 ms", h["latency"].get("p95_ms"), None, 1)
    if hashing is not None:
        add("-", f"CBV hash: TraceFood events/s ({hashing['events']:,} events)", hashing["tracefood_per_s"], None)
        add("-", "CBV hash: epcis-event-hash-generator events/s", hashing["reference_per_s"], None)
        add("-", "CBV hash: ratio (reference s / TraceFood s)", hashing["ratio"], None, 1)
        add("-", "CBV hash: identical / different", float(hashing["identical"]), None)
        rows[-1][2] = f"{hashing['identical']:,} / {hashing['different']:,}"
    return checks, rows


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=None, help="events per engine (default 100,000; quick 10,000)")
    p.add_argument("--quick", action="store_true", help="smoke run: 10,000 events")
    p.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: sqlite,postgresql")
    p.add_argument("--json", type=Path, default=Path("bench-results/ingest.json"))
    p.add_argument("--batch", type=int, default=BATCH, help="events per record/capture call (whole units of 10)")
    p.add_argument("--http-seconds", type=float, default=10.0, help="duration of the HTTP measurement")
    p.add_argument("--no-http", action="store_true", help="skip the HTTP measurement")
    p.add_argument("--no-hash", action="store_true", help="skip the CBV hash comparison")
    p.add_argument("--profile", type=int, default=0, metavar="N", help="only cProfile N readable events, then exit")
    p.add_argument("--profile-top", type=int, default=15)
    p.add_argument("--postgresql-url", default=DEFAULT_PG_URL)
    p.add_argument("--tmp-dir", type=Path, default=None)
    p.add_argument("--_serve", nargs=4, metavar=("URL", "KEYFILE", "HOME", "PORT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.events is None:
        args.events = 10_000 if args.quick else 100_000
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in args.engines:
        if e not in ENGINES:
            p.error(f"unknown engine {e!r}; choose from {', '.join(ENGINES)}")
    if args.batch % UNIT:
        p.error(f"--batch must be a multiple of {UNIT}")
    return args


def run(args: argparse.Namespace) -> int:
    use_pg = "postgresql" in args.engines
    if use_pg and (problem := bench.postgres_problem(args.postgresql_url)):
        print(f"PostgreSQL is unreachable at {args.postgresql_url}: {problem}", file=sys.stderr)
        return 2
    admin = create_engine(args.postgresql_url) if use_pg else None
    started = time.monotonic()
    results: list[dict[str, Any]] = []
    hashing: dict[str, Any] | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="tracefood-ingest-", dir=args.tmp_dir) as tmp:
            workdir = Path(tmp)
            if args.profile:
                for e in args.engines:
                    print(f"== cProfile: {args.profile:,} readable events in batches of {args.batch:,} on {e}")
                    print(profile_readable(e, args.profile, args, workdir, admin))
                return 0
            for e in args.engines:
                load = os.getloadavg()[0]
                t0 = time.monotonic()
                r = bench_engine(e, args, workdir, admin)
                r["wall_seconds"] = round(time.monotonic() - t0, 1)
                r["loadavg_1m_before_after"] = [round(load, 2), round(os.getloadavg()[0], 2)]
                results.append(r)
    finally:
        if admin is not None:
            admin.dispose()
    if not args.no_hash:
        import bench_hash

        n = min(args.events, 10_000)
        _log(f"CBV hash comparison, {n:,} events")
        hashing = bench_hash.run(n)
    checks, rows = checks_and_rows(results, hashing)
    print()
    print(f"TraceFood {tracefood.__version__} ingest, {args.events:,} events per engine, batches of {args.batch:,}")
    print(render_table(["engine", "measure", "value", "target", "met?"], rows, {2}))
    applicable = [c for c in checks if c["met"] is not None]
    print(f"\ntargets met: {sum(c['met'] for c in applicable)}/{len(applicable)}")
    document = {
        "command": [Path(sys.executable).name, *sys.argv],
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "tracefood": tracefood.__version__,
        },
        "config": {
            "events": args.events,
            "batch": args.batch,
            "engines": args.engines,
            "http_seconds": args.http_seconds,
            "client_threads": CLIENT_THREADS,
            "server_threads": SERVER_THREADS,
            "server_workers": SERVER_WORKERS,
            "sqlite_synchronous": "FULL",
            "postgresql_url": args.postgresql_url if use_pg else None,
            "chain": "1 party, 4 locations, 2 GTINs; 10 events per unit; times from 2025-01-01T00:00Z, 1 min apart",
        },
        "targets": {"batched_events_per_s": BATCH_TARGET_EPS, "http_requests_per_s": HTTP_TARGET_RPS},
        "results": results,
        "hash_comparison": _jsonable(hashing),
        "checks": checks,
        "summary": {
            "targets_met": all(c["met"] for c in applicable),
            "total_seconds": round(time.monotonic() - started, 1),
        },
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"\nJSON written to {args.json} ({time.monotonic() - started:.0f} s in all)")
    return 0


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str)) if value is not None else None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args._serve:
        return serve_child(*args._serve)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
