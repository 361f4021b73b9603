"""Trace and recall benchmark on synthetic supply chains of 10^4, 10^5 and 10^6 events.

Run from the repository root (prints three tables, writes JSON)::

    python tools/bench_trace.py                      # 10^4, 10^5 and 10^6 events (SQLite)
    python tools/bench_trace.py --quick              # 10^4 only, fewer samples and repeats
    python tools/bench_trace.py --sizes 10000,100000 --answers 10,100 --json-out bench-results/t.json

Each ledger is built once by ``tools/synth.py`` (deterministic by seed, recorded through the
public ``EventStore``), in a child process (``--build-only`` does only that), and kept in
``bench-results/cache/trace-<size>.db`` (delete it to rebuild after a change to the projections
or the schema). The synthetic chains answer small traces (about 2 lots, at
most about 10), so every ledger also gets the same **wide structures**, appended through
``EventStore.record`` with readable harvest and transform events (the public append path; a
producer ``bench-wide`` and its farm site ``bench-wide-farm`` are registered for them through
``Registry``; events dated September-October 2026, lot codes ``BWF...`` and ``BWB...``).
Appending is idempotent: skipped when the ledger already holds all their lots, and an event
already recorded is deduplicated by its hash otherwise. For each answer size (``--answers``,
of 10, 100 and 1,000 lots, the start lot included):

* **forward** (fan-out): a harvested bin of spinach split level by level, the bin into case lots
  on successive days (one transformation a day), then each lot into the next level's lots in
  one production run; shapes 1+3+6, 1+9+90 and 1+9+90+900 lots (depth 2, 2 and 3). Traced from
  the bin.
* **back** (fan-in): one lot of a blend made from sub-blends, made from case lots, made from
  harvested lots; the same shapes upside down (the 1,000-lot answer has 900 harvested lots).
  Traced from the final lot.

Then, per ledger size:

``trace back`` / ``trace forward`` (random lots)
    ``tracefood.chain.trace.trace`` (in process, default page of 1,000) for a fixed random
    sample of the synthetic lots (seeded; the wide lots are left out), one call each after one
    warm-up call; p50/p95/max latency and the size of the answer in lots.
``wide answers``
    the same call from each wide structure's start lot, ``--repeats`` times after 3 warm-up calls
    (its pages are then in cache); p50/p95/max per direction and answer size, and the number of
    lots in each answer. The structures are the same at every ledger size, so a row that stays
    flat across the ledger sizes and grows down the answer sizes shows that the cost follows the
    answer, not the ledger. The calls during which Python ran a full (generation 2) garbage
    collection are counted (``full_gc_calls``, ``p95_ms_without_full_gc``) but never left out of
    the percentiles. As ``tracefood serve`` does (``tracefood.web.server.settled``), what the
    process built before measuring is frozen out of the collector's reach (``gc.freeze``).
``recall scope + XLSX``
    for the harvest lots whose forward trace is largest in the random sample: the recall scope
    (the union of trace forward, as ``recalls.issue`` computes it), the FSMA 204 rows and the
    XLSX file (the recall event itself is not appended, so the cached ledger stays as built).
``EPCIS query``
    ``GET /epcis/events?MATCH_anyEPCClass=<lot>`` through the app in process (Flask test
    client), p50/p95.
``baseline: hop-by-hop, in process`` (``baseline_back`` / ``baseline_forward``)
    what a user of a plain EPCIS repository does (as public traceback resolvers do): query the
    TransformationEvents naming the lot, follow them to the next lots, query again, until no
    new lot appears; each query through the Flask test client (WSGI and JSON, no socket),
    against ``trace.trace`` called directly (neither), for 30 random lots. Kept for comparison
    with earlier runs; the two sides do not go through the same stack.
``baseline: hop-by-hop over HTTP`` (``http``)
    the app served by ``tracefood serve`` (waitress, its production server, default threads) in
    a subprocess on 127.0.0.1 and an admin bearer token; one keep-alive HTTP/1.1 connection for
    (a) the same hop-by-hop trace over ``GET /epcis/events`` (``perPage=1000``, following
    ``Link: rel="next"``) and (b) TraceFood's ``GET /api/v1/trace?id=...&direction=...``
    (following ``next_page_token``), each decoding the JSON it gets; interleaved, after one
    warm-up call of each, for the same 30 random lots (one call each) and every wide start lot
    (``--http-repeats`` calls each). Ratio hop-by-hop / TraceFood of p50 (and of p95). Loopback
    costs each request well under a millisecond of network: against a remote repository every
    hop-by-hop query pays a real round trip, TraceFood one per page. The lots both reach are
    compared: lineage is transformations only (co-travel in a container is not lineage), so
    they must be the same; differences are counted and reported with examples, not hidden.

The JSON (``--json-out``, default ``bench-results/trace.json``) holds the machine, the command,
the commit and the files modified in the working tree (``code``), every number above per ledger
size (``results``; ``process``: the objects the measuring process's garbage collector tracks and
the time of one full collection, which is what the tails above pay) and the checks against the
targets (``checks``).

Targets at 10^6 events: trace p95 <= 50 ms for answers up to 1,000 lots (random and wide);
recall scope and XLSX <= 2 s; cost growing with the size of the answer, not of the ledger.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import gc
import http.client
import json
import math
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
for path in (str(REPO), str(REPO / "tools")):
    if path not in sys.path:
        sys.path.insert(0, path)

import synth  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from tracefood import schema  # noqa: E402
from tracefood.chain import recalls, records, trace  # noqa: E402
from tracefood.chain.capture import EventStore  # noqa: E402
from tracefood.chain.registry import OPERATOR, Actor, Registry  # noqa: E402
from tracefood.chain.tables import lots  # noqa: E402
from tracefood.ledger import Ledger, db  # noqa: E402
from tracefood.ledger.keys import create_key  # noqa: E402
from tracefood.web.server import settled  # noqa: E402

SEED = 1
TRACE_P95_TARGET_MS = 50.0
TARGET_MAX_LOTS = 1000
RECALL_TARGET_S = 2.0
DIRECTIONS = ("back", "forward")
BASELINE_LOTS = 30
WARM_UP = 3
LABEL_MASTER_KEY = base64.b64encode(bytes(32)).decode()

WIDE_PARTY = "bench-wide"
WIDE_SITE = "bench-wide-farm"
WIDE_SHAPES: Mapping[int, tuple[int, ...]] = {10: (3, 2), 100: (9, 10), 1000: (9, 10, 10)}
"""Answer size -> lots per lot, level by level: 1 + 3 + 3*2 = 10, 1 + 9 + 90, 1 + 9 + 90 + 900."""
WIDE_DAYS: Mapping[str, dt.date] = {"forward": dt.date(2026, 9, 1), "back": dt.date(2026, 10, 5)}
"""The first day of the wide structures (each answer size 10 days later); all in EDT (UTC-4)."""


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    if not ordered:
        return {"samples": 0}

    def at(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000

    return {"samples": len(ordered), "p50_ms": at(0.5), "p95_ms": at(0.95), "max_ms": ordered[-1] * 1000}


def _paths(size: int, cache: Path) -> tuple[Path, Path]:
    return cache / f"trace-{size}.db", cache / f"trace-{size}.key"


def build_ledger(size: int, cache: Path) -> None:
    """Build the synthetic ledger of ``size`` events in the cache, unless it is there."""
    path, key = _paths(size, cache)
    if path.exists():
        return
    cache.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{path}"
    key.unlink(missing_ok=True)
    create_key(key, "bench.tracefood/ledger")
    engine = db.make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    ledger = Ledger.open(url, key_file=key, sqlite_synchronous="NORMAL")
    _log(f"building a {size:,}-event ledger in {path} (once)")
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last[0] > 15:
            last[0] = time.monotonic()
            _log(f"  {done:,} / {total:,} events")

    summary = synth.load(ledger, size, SEED, progress, keep_truth=False)
    _log(f"  built: {summary.events:,} events at {summary.events_per_s:,.0f} events/s")
    ledger.close()


def build(size: int, cache: Path) -> tuple[Ledger, Path]:
    """The cached ledger, built first if needed in a child process (``--build-only``): loading
    leaves the identifier caches full (~130,000 objects), which would make every later full
    garbage collection of the measuring process slower than when the cache already existed."""
    path, key = _paths(size, cache)
    if not path.exists():
        command = [sys.executable, str(Path(__file__).resolve()), "--build-only", "--sizes", str(size)]
        subprocess.run([*command, "--cache", str(cache)], check=True)
    ledger = Ledger.open(f"sqlite:///{path}", key_file=key, sqlite_synchronous="NORMAL")
    return ledger, key


# -- the wide structures ------------------------------------------------------------------------


@dataclass(frozen=True)
class Wide:
    """One wide structure: the readable events that make it, and the lot its trace starts from."""

    direction: str
    answer: int
    start: str  # the lot code its trace starts from
    events: list[dict[str, Any]]

    @property
    def lot_codes(self) -> set[str]:
        codes = set()
        for event in self.events:
            for name in ("items", "inputs", "outputs"):
                codes.update(item["lot"] for item in event.get(name, []))
        return codes


class _Clock:
    """Local time (EDT) on the wide structures' days, one minute per event."""

    def __init__(self, day: dt.date) -> None:
        self.now = dt.datetime.combine(day, dt.time(6, 0))

    def tick(self, *, days: int = 0) -> str:
        self.now += dt.timedelta(days=days, minutes=0 if days else 1)
        return f"{self.now:%Y-%m-%dT%H:%M:%S}-04:00"


def _item(product: str, lot: str, quantity: int) -> dict[str, Any]:
    return {"product": product, "lot": lot, "quantity": str(quantity)}


def _fan_out(answer: int, shape: tuple[int, ...], day: dt.date) -> Wide:
    """A bin of spinach split level by level; level 1 on successive days, then one run a lot."""
    clock = _Clock(day)
    product = ["spinach-bulk", "spinach-case", *["spring-mix"] * len(shape)]
    quantity = 10 * math.prod(shape)
    root = f"BWF{answer}-0-000"
    events = [{"kind": "harvest", "time": clock.tick(), "location": WIDE_SITE,
               "items": [_item(product[0], root, quantity)]}]  # fmt: skip
    parents = [root]
    for depth, width in enumerate(shape, 1):
        share = quantity // width
        children = [f"BWF{answer}-{depth}-{i:03d}" for i in range(len(parents) * width)]
        for p, parent in enumerate(parents):
            mine = children[p * width : (p + 1) * width]
            runs = [[c] for c in mine] if depth == 1 else [mine]  # a day each, or one production run
            for outputs in runs:
                events.append(
                    {"kind": "transform", "time": clock.tick(days=1 if depth == 1 else 0), "location": WIDE_SITE,
                     "inputs": [_item(product[depth - 1], parent, share * len(outputs))],
                     "outputs": [_item(product[depth], c, share) for c in outputs]}
                )  # fmt: skip
        parents, quantity = children, share
    return Wide("forward", answer, root, events)


def _fan_in(answer: int, shape: tuple[int, ...], day: dt.date) -> Wide:
    """One lot of power greens blended from sub-blends, made from case lots, from harvested kale."""
    clock = _Clock(day)
    levels = len(shape)
    product = [*["power-greens"] * (levels - 1), "kale-case", "kale-bulk"]
    codes = [[f"BWB{answer}-{d}-{i:03d}" for i in range(math.prod(shape[:d]))] for d in range(levels + 1)]
    quantity = [10 * math.prod(shape[d:]) for d in range(levels + 1)]  # what each lot of a level holds
    events = [
        {"kind": "harvest", "time": clock.tick(), "location": WIDE_SITE,
         "items": [_item(product[levels], code, quantity[levels])]}
        for code in codes[levels]
    ]  # fmt: skip
    for depth in range(levels - 1, -1, -1):
        width = shape[depth]
        for i, code in enumerate(codes[depth]):
            inputs = codes[depth + 1][i * width : (i + 1) * width]
            events.append(
                {"kind": "transform", "time": clock.tick(), "location": WIDE_SITE,
                 "inputs": [_item(product[depth + 1], c, quantity[depth + 1]) for c in inputs],
                 "outputs": [_item(product[depth], code, quantity[depth])]}
            )  # fmt: skip
    return Wide("back", answer, codes[0][0], events)


def wide_structures(answers: Sequence[int]) -> list[Wide]:
    out = []
    for answer in answers:
        shape, later = WIDE_SHAPES[answer], dt.timedelta(days=10 * sorted(WIDE_SHAPES).index(answer))
        out.append(_fan_out(answer, shape, WIDE_DAYS["forward"] + later))
        out.append(_fan_in(answer, shape, WIDE_DAYS["back"] + later))
    return out


def ensure_wide(ledger: Ledger, structures: Sequence[Wide]) -> dict[str, dict[int, str]]:
    """Append the structures once (public path); the start lot keys by direction and answer size."""
    reg = Registry(ledger.engine)
    if not any(p["id"] == WIDE_PARTY for p in reg.list("party")):
        reg.create("party", {"id": WIDE_PARTY, "name": "Ferme intégrée Banc d'essai", "country": "CA"}, OPERATOR)
        reg.create("location", {"id": WIDE_SITE, "name": "Ferme intégrée, champs et salle de coupe",
                                "party": WIDE_PARTY, "kind": "farm", "country": "CA", "region": "Montérégie"},
                   OPERATOR)  # fmt: skip
    wanted = set().union(*(w.lot_codes for w in structures))
    with db.read_snapshot(ledger.engine) as conn:
        have = {r[0] for r in conn.execute(select(lots.c.lot_code).where(lots.c.party_id == WIDE_PARTY))}
    if not wanted <= have:
        store = EventStore(ledger)
        actor = Actor("producer", WIDE_PARTY, "bench")
        created = total = 0
        for w in structures:
            for i in range(0, len(w.events), synth.BATCH):
                receipts = store.record(w.events[i : i + synth.BATCH], actor)
                created += sum(r.created for r in receipts)
                total += len(receipts)
        _log(f"  wide structures: {created:,} of {total:,} events appended ({total - created:,} already there)")
    starts: dict[str, dict[int, str]] = {d: {} for d in DIRECTIONS}
    with db.read_snapshot(ledger.engine) as conn:
        for w in structures:
            key = conn.execute(
                select(lots.c.key).where(lots.c.party_id == WIDE_PARTY, lots.c.lot_code == w.start)
            ).scalar_one()
            starts[w.direction][w.answer] = key
    return starts


def sample_lots(ledger: Ledger, count: int, rng: random.Random) -> list[str]:
    """Random lots of the synthetic chain (the wide structures' lots come after it, left out)."""
    with db.read_snapshot(ledger.engine) as conn:
        first_wide = conn.execute(select(func.min(lots.c.id)).where(lots.c.party_id == WIDE_PARTY)).scalar()
        top = first_wide - 1 if first_wide else conn.execute(select(func.max(lots.c.id))).scalar()
        keys: list[str] = []
        tries = 0
        while len(keys) < count and tries < count * 20:
            tries += 1
            row = conn.execute(
                lots.select()
                .with_only_columns(lots.c.key, lots.c.kind)
                .where(lots.c.id == rng.randint(1, int(top or 1)))
            ).first()
            if row is not None and row.kind == "lot":
                keys.append(row.key)
    return keys


# -- in-process measurements --------------------------------------------------------------------


class FullGc:
    """Time spent in full (generation 2) garbage collections while active: what explains the
    latency tails of large answers (a full collection of the process's ~90,000 objects takes
    tens of milliseconds, and a 1,000-lot answer allocates enough to trigger one now and then)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._since = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                self._since = time.perf_counter()
            else:
                self.seconds += time.perf_counter() - self._since

    def __enter__(self) -> FullGc:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self)


def _timed_traces(ledger: Ledger, calls: Sequence[tuple[str, str]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Trace each (key, direction) once, in order: latency percentiles with the calls that ran a
    full garbage collection (not left out of the percentiles), and the answers' counts."""
    times, pauses, counts = [], [], []
    with FullGc() as full_gc:
        for key, direction in calls:
            before = full_gc.seconds
            t0 = time.perf_counter()
            result = trace.trace(ledger.engine, key, direction)
            times.append(time.perf_counter() - t0)
            pauses.append(full_gc.seconds - before)
            counts.append(result["counts"])
    clean = [t for t, p in zip(times, pauses, strict=True) if not p]
    stats = percentiles(times) | {
        "full_gc_calls": sum(1 for p in pauses if p),
        "full_gc_max_ms": max(pauses) * 1000,
        "p95_ms_without_full_gc": percentiles(clean).get("p95_ms"),
    }
    return stats, counts


def measure_trace(ledger: Ledger, keys: Sequence[str], direction: str) -> dict[str, Any]:
    """Each lot once after one warm-up call (its pages may come from disk), then a second pass
    over the same lots (``second_pass``: the pages they need are now cached)."""
    trace.trace(ledger.engine, keys[0], direction)  # warm-up
    stats, counts = _timed_traces(ledger, [(key, direction) for key in keys])
    again, _ = _timed_traces(ledger, [(key, direction) for key in keys])
    sizes, events = [c["lots"] for c in counts], [c["events"] for c in counts]
    return stats | {
        "mean_lots": sum(sizes) / len(sizes),
        "max_lots": max(sizes),
        "mean_events": sum(events) / len(events),
        "max_events": max(events),
        "second_pass": again,
    }


def measure_wide(ledger: Ledger, starts: dict[str, dict[int, str]], repeats: int) -> dict[str, dict[str, Any]]:
    """Repeated traces of each wide structure from its start lot, after warm-up calls."""
    out: dict[str, dict[str, Any]] = {}
    for direction, by_answer in starts.items():
        out[direction] = {}
        for answer, key in sorted(by_answer.items()):
            for _ in range(WARM_UP):
                trace.trace(ledger.engine, key, direction)
            stats, counts = _timed_traces(ledger, [(key, direction)] * repeats)
            if counts[-1]["lots"] != answer:
                _log(f"  wide {direction} {answer}: the trace reaches {counts[-1]['lots']} lots, not {answer}")
            out[direction][str(answer)] = stats | {"lots": counts[-1]["lots"], "events": counts[-1]["events"],
                                                   "start": key}  # fmt: skip
    return out


def measure_recall(ledger: Ledger, keys: Sequence[str]) -> dict[str, Any]:
    """Scope + FSMA rows + XLSX for the seeds with the largest forward traces."""
    ranked = sorted(keys, key=lambda k: -trace.trace(ledger.engine, k, "forward")["counts"]["lots"])[:5]
    out = []
    for key in ranked:
        t0 = time.perf_counter()
        scope = recalls._scope(ledger.engine, [key])
        t1 = time.perf_counter()
        with db.read_snapshot(ledger.engine) as conn:
            ids = [r[0] for r in conn.execute(lots.select().with_only_columns(lots.c.id).where(lots.c.key.in_(scope)))]
        rows = records.rows(ledger.engine, ids)
        data = records.fsma204_xlsx(rows)
        t2 = time.perf_counter()
        out.append({"lots": len(scope), "rows": len(rows), "xlsx_bytes": len(data), "scope_s": t1 - t0,
                    "total_s": t2 - t0})  # fmt: skip
    worst = max(out, key=lambda r: r["total_s"])
    return {"seeds": out, "max_total_s": worst["total_s"], "largest_scope": max(r["lots"] for r in out)}


# -- clients: the app in process, or served over HTTP ---------------------------------------------


class Api:
    """EPCIS queries and traces as a user makes them, with an admin bearer token."""

    def __init__(self, token: str) -> None:
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def get(self, path: str) -> tuple[int, Mapping[str, str], bytes]:
        raise NotImplementedError

    def _json(self, path: str) -> tuple[Any, Mapping[str, str]]:
        status, headers, body = self.get(path)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}: {body[:300].decode(errors='replace')}")
        return json.loads(body), headers

    def events(self, **params: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
        out: list[dict[str, Any]] = []
        url = f"/epcis/events?{query}&perPage=1000"
        while url:
            body, headers = self._json(url)
            out += body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            link = headers.get("Link", "")
            url = link[link.index("<") + 1 : link.index(">")].split("://", 1)[-1] if 'rel="next"' in link else ""
            if url and not url.startswith("/"):
                url = url[url.index("/") :]
        return out

    def trace(self, key: str, direction: str) -> set[str]:
        """The lots of ``GET /api/v1/trace``, every page of it."""
        found: set[str] = set()
        token = ""
        while True:
            page = f"&page_token={quote(token, safe='')}" if token else ""
            body, _ = self._json(f"/api/v1/trace?id={quote(key, safe='')}&direction={direction}{page}")
            found.update(body["lots"])
            token = body.get("next_page_token") or ""
            if not token:
                return found


class InProcess(Api):
    """The app in process (Flask test client): no socket, no HTTP parsing."""

    def __init__(self, ledger: Ledger, key: Path, home: Path, token: str) -> None:
        from tracefood.web.app import create_app

        super().__init__(token)
        app = create_app({"DATABASE_URL": str(ledger.engine.url.render_as_string(hide_password=False)),
                          "LEDGER_KEY_FILE": str(key), "HOME": str(home), "SECRET_KEY": "bench",
                          "LABEL_MASTER_KEY": LABEL_MASTER_KEY})  # fmt: skip
        self.client = app.test_client()

    def get(self, path: str) -> tuple[int, Mapping[str, str], bytes]:
        response = self.client.get(path, headers=self.headers)
        return response.status_code, response.headers, response.get_data()


class Http(Api):
    """The served app over one keep-alive HTTP/1.1 connection to 127.0.0.1."""

    def __init__(self, port: int, token: str) -> None:
        super().__init__(token)
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def get(self, path: str) -> tuple[int, Mapping[str, str], bytes]:
        for attempt in (1, 2):
            try:
                self.conn.request("GET", path, headers=self.headers)
                response = self.conn.getresponse()
                return response.status, response.headers, response.read()
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()  # the server closed an idle connection: reconnect once
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


def admin_token(ledger: Ledger) -> str:
    reg = Registry(ledger.engine)
    if not any(p["id"] == "bench-admin" for p in reg.list("party")):
        reg.create("party", {"id": "bench-admin", "name": "Benchmark", "country": "CA"}, OPERATOR)
    token, _ = reg.create_token("bench-admin", "admin", OPERATOR)
    return token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def served(ledger: Ledger, key: Path, home: Path) -> Iterator[int]:
    """``tracefood serve`` (waitress, 1 worker, its default threads) on a free local port."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEFOOD_")}
    env |= {
        "TRACEFOOD_HOME": str(home),
        "TRACEFOOD_DATABASE_URL": ledger.engine.url.render_as_string(hide_password=False),
        "TRACEFOOD_LEDGER_KEY_FILE": str(key),
        "TRACEFOOD_SQLITE_SYNCHRONOUS": "NORMAL",
        "TRACEFOOD_SECRET_KEY": "bench",
        "TRACEFOOD_LABEL_MASTER_KEY": LABEL_MASTER_KEY,
    }
    log = home / "serve.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "tracefood", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"tracefood serve exited ({process.returncode}): {log.read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request("GET", "/healthz")
                ready = probe.getresponse().status == 200
                probe.close()
                if ready:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"tracefood serve did not answer /healthz in 120 s: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the baseline ---------------------------------------------------------------------------------


def hop_by_hop(client: Api, start: str, direction: str) -> tuple[set[str], int]:
    """The baseline: BFS over EPCIS queries, following TransformationEvents."""
    seen, frontier, queries = {start}, [start], 0
    mine, theirs = (
        ("outputQuantityList", "inputQuantityList")
        if direction == "back"
        else ("inputQuantityList", "outputQuantityList")
    )
    while frontier:
        nxt = []
        for lot in frontier:
            queries += 1
            for event in client.events(MATCH_anyEPCClass=lot, eventType="TransformationEvent"):
                if any(q.get("epcClass") == lot for q in event.get(mine, [])):
                    for q in event.get(theirs, []):
                        other = q.get("epcClass")
                        if other and other not in seen:
                            seen.add(other)
                            nxt.append(other)
        frontier = nxt
    return seen, queries


def _mismatch(key: str, direction: str, hop: set[str], ours: set[str]) -> dict[str, Any] | None:
    if hop == ours:
        return None
    return {"id": key, "direction": direction, "only_hop_by_hop": sorted(hop - ours)[:5],
            "only_tracefood": sorted(ours - hop)[:5]}  # fmt: skip


def measure_epcis(client: Api, keys: Sequence[str]) -> dict[str, Any]:
    times = []
    for key in keys:
        t0 = time.perf_counter()
        client.events(MATCH_anyEPCClass=key)
        times.append(time.perf_counter() - t0)
    return percentiles(times)


def measure_baseline(ledger: Ledger, client: InProcess, keys: Sequence[str], direction: str) -> dict[str, Any]:
    """Hop-by-hop through the in-process app against ``trace.trace`` called directly."""
    base, ours, queries, mismatches = [], [], [], []
    for key in keys:
        t0 = time.perf_counter()
        found, n = hop_by_hop(client, key, direction)
        base.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        result = trace.trace(ledger.engine, key, direction)
        ours.append(time.perf_counter() - t0)
        queries.append(n)
        differs = _mismatch(key, direction, found, set(result["lots"]))
        if differs:
            mismatches.append(differs)
    b, o = percentiles(base), percentiles(ours)
    return {"in_process": True, "baseline": b, "tracefood": o, "mean_queries": sum(queries) / len(queries),
            "ratio_p50": b["p50_ms"] / o["p50_ms"], "ratio_p95": b["p95_ms"] / o["p95_ms"],
            "mismatches": len(mismatches), "mismatch_examples": mismatches[:5]}  # fmt: skip


def _compare_http(client: Http, keys: Sequence[str], direction: str, repeats: int) -> dict[str, Any]:
    """Hop-by-hop and TraceFood over the same HTTP connection, interleaved, after a warm-up."""
    hop_by_hop(client, keys[0], direction)
    client.trace(keys[0], direction)
    base, ours, queries, sizes, mismatches = [], [], [], [], []
    for key in keys:
        for _ in range(repeats):
            t0 = time.perf_counter()
            found, n = hop_by_hop(client, key, direction)
            base.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            answer = client.trace(key, direction)
            ours.append(time.perf_counter() - t0)
        queries.append(n)
        sizes.append(len(answer))
        differs = _mismatch(key, direction, found, answer)
        if differs:
            mismatches.append(differs)
    b, o = percentiles(base), percentiles(ours)
    return {"hop_by_hop": b, "tracefood": o, "ratio_p50": b["p50_ms"] / o["p50_ms"],
            "ratio_p95": b["p95_ms"] / o["p95_ms"], "lots_traced": len(keys), "calls_each": repeats,
            "mean_lots": sum(sizes) / len(sizes), "max_lots": max(sizes),
            "mean_queries": sum(queries) / len(queries), "mismatches": len(mismatches),
            "mismatch_examples": mismatches[:5]}  # fmt: skip


def measure_http(client: Http, keys: Sequence[str], starts: dict[str, dict[int, str]], repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {"server": "tracefood serve (waitress) on 127.0.0.1, subprocess", "sample": {}, "wide": {}}
    for direction in DIRECTIONS:
        out["sample"][direction] = _compare_http(client, keys, direction, 1)
        out["wide"][direction] = {
            str(answer): _compare_http(client, [key], direction, repeats)
            for answer, key in sorted(starts[direction].items())
        }
    groups = [*out["sample"].values(), *(g for d in out["wide"].values() for g in d.values())]
    out["mismatches"] = sum(g["mismatches"] for g in groups)
    return out


# -- one ledger size ------------------------------------------------------------------------------


def run_size(size: int, samples: int, cache: Path, answers: Sequence[int], repeats: int,
             http_repeats: int) -> dict[str, Any]:  # fmt: skip
    ledger, key = build(size, cache)
    if ledger.size() < size:
        raise SystemExit(f"{_paths(size, cache)[0]} holds {ledger.size():,} events, not {size:,}: delete it to rebuild")
    structures = wide_structures(answers)
    starts = ensure_wide(ledger, structures)
    rng = random.Random(size)
    keys = sample_lots(ledger, samples, rng)
    settled(None)  # what start-up built leaves the garbage collector's reach, as `tracefood serve` does
    _log(f"{size:,}: tracing {len(keys)} random lots")
    out: dict[str, Any] = {
        "events": ledger.size(),
        "synthetic_events": size,
        "wide_events": ledger.size() - size,  # synth builds exactly ``size`` events
        "sampled_lots": len(keys),
    }
    out["back"] = measure_trace(ledger, keys, "back")
    out["forward"] = measure_trace(ledger, keys, "forward")
    _log(f"{size:,}: wide answers ({', '.join(map(str, answers))} lots), {repeats} calls each")
    out["wide"] = measure_wide(ledger, starts, repeats)
    out["recall"] = measure_recall(ledger, keys[:50])
    home = cache / f"home-{size}"
    home.mkdir(mode=0o700, exist_ok=True)
    token = admin_token(ledger)
    client = InProcess(ledger, key, home, token)
    out["epcis_query"] = measure_epcis(client, keys[:100])
    _log(f"{size:,}: hop-by-hop baseline in process")
    out["baseline_back"] = measure_baseline(ledger, client, keys[:BASELINE_LOTS], "back")
    out["baseline_forward"] = measure_baseline(ledger, client, keys[:BASELINE_LOTS], "forward")
    _log(f"{size:,}: hop-by-hop baseline and TraceFood over HTTP")
    with served(ledger, key, home) as port:
        remote = Http(port, token)
        try:
            out["http"] = measure_http(remote, keys[:BASELINE_LOTS], starts, http_repeats)
        finally:
            remote.close()
    ledger.close()
    gc.unfreeze()
    gc.collect()
    t0 = time.perf_counter()
    gc.collect()
    out["process"] = {"gc_tracked_objects": len(gc.get_objects()), "full_gc_ms": (time.perf_counter() - t0) * 1000}
    return out


# -- output ---------------------------------------------------------------------------------------


def _grid(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def _events(r: dict[str, Any]) -> str:
    return f"{r['synthetic_events']:,} + {r['wide_events']:,}"


def _ms3(p: dict[str, Any]) -> str:
    return f"{p['p50_ms']:.1f} / {p['p95_ms']:.1f} / {p['max_ms']:.1f}"


def table(results: dict[int, dict[str, Any]]) -> str:
    head = ["events (synthetic + wide)", "back p50/p95/max ms", "fwd p50/p95/max ms", "2nd pass p95 back/fwd",
            "lots back/fwd (mean)", "recall+XLSX s (lots)", "EPCIS query p50/p95 ms", "hop/TF in process (p50)",
            "hop/TF over HTTP (p50)"]  # fmt: skip
    rows = []
    for _, r in sorted(results.items()):
        b, f, h = r["back"], r["forward"], r["http"]["sample"]
        rows.append([
            _events(r), _ms3(b), _ms3(f),
            f"{b['second_pass']['p95_ms']:.1f} / {f['second_pass']['p95_ms']:.1f}",
            f"{b['mean_lots']:.1f} / {f['mean_lots']:.1f}",
            f"{r['recall']['max_total_s']:.2f} ({r['recall']['largest_scope']})",
            f"{r['epcis_query']['p50_ms']:.1f} / {r['epcis_query']['p95_ms']:.1f}",
            f"back {r['baseline_back']['ratio_p50']:.1f}x, fwd {r['baseline_forward']['ratio_p50']:.1f}x",
            f"back {h['back']['ratio_p50']:.1f}x, fwd {h['forward']['ratio_p50']:.1f}x",
        ])  # fmt: skip
    title = ("Random lots of the synthetic chain (trace in process; each lot once, then a 2nd pass over the same "
             "lots; hop/TF: hop-by-hop baseline over TraceFood, 30 of the lots)")  # fmt: skip
    return title + "\n" + _grid(head, rows)


def wide_table(results: dict[int, dict[str, Any]]) -> str:
    """Rows: answer sizes; columns: ledger sizes (then p50 at the largest over the smallest)."""
    ordered = sorted(results.items())
    first, last = ordered[0][1], ordered[-1][1]
    calls = first["wide"]["back"]
    samples = next(iter(calls.values()))["samples"] if calls else 0
    head = ["wide answer", *(f"{r['synthetic_events']:,} events: p50/p95/max ms (lots) full GCs" for _, r in ordered)]
    if len(ordered) > 1:
        head.append(f"p50 {last['synthetic_events']:,} / {first['synthetic_events']:,}")
    rows = []
    for direction in DIRECTIONS:
        for answer in first["wide"][direction]:
            row = [f"{direction} {int(answer):,} lots"]
            for _, r in ordered:
                w = r["wide"][direction][answer]
                row.append(f"{_ms3(w)} ({w['lots']:,}) {w['full_gc_calls']}")
            if len(ordered) > 1:
                growth = last["wide"][direction][answer]["p50_ms"] / first["wide"][direction][answer]["p50_ms"]
                row.append(f"{growth:.2f}x")
            rows.append(row)
    title = (f"Wide answers (trace in process, {samples} calls each after {WARM_UP} warm-up calls; full GCs: "
             "calls during which Python ran a full garbage collection, counted in the percentiles)")  # fmt: skip
    return title + "\n" + _grid(head, rows)


def http_table(results: dict[int, dict[str, Any]]) -> str:
    head = ["events", "lots traced", "lots in answer (mean)", "hop queries (mean)", "hop-by-hop p50/p95 ms",
            "TraceFood p50/p95 ms", "ratio p50 (p95)", "mismatches"]  # fmt: skip
    rows = []
    for _, r in sorted(results.items()):
        h = r["http"]
        groups = [(f"{g['lots_traced']} random, {d}", g) for d, g in h["sample"].items()]
        groups += [(f"wide {a} {d} x{g['calls_each']}", g) for d, by in h["wide"].items() for a, g in by.items()]
        for label, g in groups:
            rows.append([
                f"{r['synthetic_events']:,}", label, f"{g['mean_lots']:,.1f}", f"{g['mean_queries']:,.1f}",
                f"{g['hop_by_hop']['p50_ms']:.1f} / {g['hop_by_hop']['p95_ms']:.1f}",
                f"{g['tracefood']['p50_ms']:.1f} / {g['tracefood']['p95_ms']:.1f}",
                f"{g['ratio_p50']:.1f}x ({g['ratio_p95']:.1f}x)", str(g["mismatches"]),
            ])  # fmt: skip
    title = "Over HTTP (tracefood serve, 127.0.0.1, keep-alive): hop-by-hop GET /epcis/events vs GET /api/v1/trace"
    return title + "\n" + _grid(head, rows)


def checks_of(results: dict[int, dict[str, Any]]) -> dict[str, Any]:
    top = results[max(results)]
    bottom = results[min(results)]
    wide_p95 = {d: {a: w["p95_ms"] for a, w in top["wide"][d].items() if w["lots"] <= TARGET_MAX_LOTS}
                for d in DIRECTIONS}  # fmt: skip
    worst = max([top["back"]["p95_ms"], top["forward"]["p95_ms"], *(v for d in wide_p95.values() for v in d.values())])
    return {
        "trace_p95_ms_at_largest": worst,
        "trace_target_met": worst <= TRACE_P95_TARGET_MS,
        "random_p95_ms_second_pass_at_largest": max(top[d]["second_pass"]["p95_ms"] for d in DIRECTIONS),
        "wide_p95_ms_at_largest": wide_p95,
        "wide_p95_ms_without_full_gc_at_largest": {
            d: {a: w["p95_ms_without_full_gc"] for a, w in top["wide"][d].items()} for d in DIRECTIONS
        },
        "wide_lots": {d: {a: w["lots"] for a, w in top["wide"][d].items()} for d in DIRECTIONS},
        "wide_p50_largest_over_smallest_ledger": {
            d: {a: w["p50_ms"] / bottom["wide"][d][a]["p50_ms"] for a, w in top["wide"][d].items()} for d in DIRECTIONS
        },
        "recall_s_at_largest": top["recall"]["max_total_s"],
        "recall_target_met": top["recall"]["max_total_s"] <= RECALL_TARGET_S,
        "http_ratio_p50_at_largest": {
            "sample": {d: g["ratio_p50"] for d, g in top["http"]["sample"].items()},
            "wide": {d: {a: g["ratio_p50"] for a, g in by.items()} for d, by in top["http"]["wide"].items()},
        },
        "hop_by_hop_mismatches": {
            "http": sum(r["http"]["mismatches"] for r in results.values()),
            "in_process": sum(r[f"baseline_{d}"]["mismatches"] for r in results.values() for d in DIRECTIONS),
        },
    }


def _code_state() -> dict[str, Any]:
    """The commit measured, and the files changed since (the numbers are of the working tree)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30).stdout
        except OSError:
            return ""

    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    return {"commit": git("rev-parse", "HEAD").strip() or None, "modified": changed}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--quick", action="store_true", help="10^4 events only, fewer samples and repeats")
    p.add_argument("--sizes", default=None, help="comma-separated ledger sizes (default 10000,100000,1000000)")
    p.add_argument("--samples", type=int, default=None, help="random lots traced per size (default 200; quick 50)")
    p.add_argument("--answers", default="10,100,1000", help="wide answer sizes, of 10,100,1000 (default all)")
    p.add_argument("--repeats", type=int, default=None, help="calls per wide trace in process (default 50; quick 10)")
    p.add_argument("--http-repeats", type=int, default=None, help="calls per wide lot over HTTP (default 5; quick 2)")
    p.add_argument("--cache", type=Path, default=REPO / "bench-results" / "cache")
    p.add_argument("--json-out", type=Path, default=REPO / "bench-results" / "trace.json")
    p.add_argument("--build-only", action="store_true", help="build the cached ledgers of --sizes, measure nothing")
    args = p.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("10000" if args.quick else "10000,100000,1000000")).split(",")]
    if args.build_only:
        for size in sizes:
            build_ledger(size, args.cache)
        return 0
    answers = sorted({int(a) for a in args.answers.split(",")})
    if not set(answers) <= set(WIDE_SHAPES):
        p.error(f"--answers: each of {', '.join(map(str, WIDE_SHAPES))}")
    samples = args.samples or (50 if args.quick else 200)
    repeats = args.repeats or (10 if args.quick else 50)
    http_repeats = args.http_repeats or (2 if args.quick else 5)
    started = time.monotonic()
    code = _code_state()
    results = {size: run_size(size, samples, args.cache, answers, repeats, http_repeats) for size in sizes}
    print(table(results))
    print()
    print(wide_table(results))
    print()
    print(http_table(results))
    checks = checks_of(results)
    mismatches = checks["hop_by_hop_mismatches"]
    verdict = {True: "PASS", False: "FAIL"}
    print(f"\nat {max(results):,} events: trace p95 {checks['trace_p95_ms_at_largest']:.1f} ms for answers up to "
          f"{TARGET_MAX_LOTS:,} lots (target <= {TRACE_P95_TARGET_MS:g}: {verdict[checks['trace_target_met']]}); "
          f"recall + XLSX {checks['recall_s_at_largest']:.2f} s (target <= {RECALL_TARGET_S:g}: "
          f"{verdict[checks['recall_target_met']]}); hop-by-hop and TraceFood reach different lots in "
          f"{mismatches['http']} traces over HTTP, {mismatches['in_process']} in process")  # fmt: skip
    code_now = _code_state()
    document = {
        "machine": {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
        },
        "command": [Path(sys.executable).name, *sys.argv],
        "code": code | ({} if code_now == code else {"changed_during_run": True, "at_end": code_now}),
        "wide_shapes": {str(a): list(WIDE_SHAPES[a]) for a in answers},
        "results": {str(k): v for k, v in results.items()},
        "checks": checks,
        "total_seconds": round(time.monotonic() - started, 1),
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"JSON written to {args.json_out}")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop the server
    raise SystemExit(main())
