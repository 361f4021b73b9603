"""Ledger benchmark: TraceFood on SQLite and PostgreSQL against pymerkle 7, at up to 10^6 entries.

Run from the repository root (one command; prints a fixed-width table, writes JSON)::

    python tools/bench.py                         # sizes 10^3, 10^5, 10^6 on both engines
    python tools/bench.py --quick                 # 10^3 and 10^4: a smoke run, well under a minute
    python tools/bench.py --sizes 1000,100000 --engines sqlite --json-out bench-results/ledger.json

What is measured, for every engine and size, on a fresh database built by the Alembic migrations
(a SQLite file in a temporary directory, or a new PostgreSQL schema that is dropped afterwards):

``batched append``
    The ledger is filled from empty through the public path, ``Ledger.append_batch`` with batches
    of 1,000 EPCIS-ObjectEvent-shaped payloads (~400-600 canonical bytes, integers and strings
    only). Only the ``append_batch`` calls are timed; payload generation is not. Throughput per
    tenth of the load shows whether appends slow down as the tree grows.
``inclusion proof`` / ``consistency proof``
    Latency of ``Ledger.inclusion_proof(i, N)`` for random ``i`` and of
    ``Ledger.consistency_proof(a, b)`` for random ``1 <= a < b <= N``, each call a full request
    (pool checkout, read snapshot, node lookups). Every proof is then verified with
    ``tracefood.ledger.merkle`` against the signed checkpoint root, outside the timing.
``verification``
    ``Ledger.verify(held=[checkpoint note])`` over the whole ledger, run in a child process
    (``--_verify-child``) so that its peak RSS is the verifier's own and not the loader's. The
    peak is the child's ``VmHWM`` (/proc/self/status): ``getrusage().ru_maxrss`` is recorded
    too, but on Linux it carries the parent's peak over ``fork``/``exec`` (``signal->maxrss``),
    so a child started by a 1 GB loader reports >= 1 GB whatever it does. Memory counts the whole
    child process (interpreter and imports included). The report must be ``ok``.
``single append``
    Latency of one-entry ``Ledger.append`` calls (each its own durable transaction) on the filled
    ledger. Done last, so the proofs and the verification above see exactly N entries.

The peer is pymerkle 7 (``InmemoryTree`` and ``SqliteTree``) configured for SHA-256 with its
second-preimage "security" prefixes on, which is RFC 6962 hashing (0x00 leaf / 0x01 node
prefixes); the run checks that pymerkle and TraceFood compute the same root for the same leaves.
Both systems start from the same payload dicts; pymerkle's timings include turning each dict
into bytes with ``orjson.dumps(..., OPT_SORT_KEYS)`` (~1 us per entry). pymerkle's batched
append is ``append_entries`` with the same 1,000-entry batches (one SQLite transaction per call
for ``SqliteTree``); its single append is ``append_entry``; its proofs are ``prove_inclusion`` /
``prove_consistency``, verified with ``pymerkle.verify_inclusion`` / ``verify_consistency``
outside the timing. ``SqliteTree`` is the apples-to-apples peer of the SQLite engine (durable,
on the same disk); PostgreSQL rows are also compared with it, and every row is compared with
``InmemoryTree`` too (a RAM-only tree, which TraceFood does not try to be). Loading pymerkle is
capped by ``--pymerkle-budget`` seconds; a capped tree is reported at the size it reached.
pymerkle has no whole-store verification; the cold root recomputation of ``SqliteTree`` (stored
leaf hashes only, entries not re-hashed) is reported for information and is not a ratio row.

Ratios are "TraceFood is faster" when > 1: ours/theirs for throughput, theirs/ours for latency.

Targets (PASS/FAIL column): batched append >= 20,000 entries/s on SQLite and >= 10,000 on
PostgreSQL; median proof latency <= 1 ms at 10^6 entries; verification >= 200,000 entries/s;
verifying 10^6 entries under 300 MB peak RSS; ahead of pymerkle on every ratio row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import math
import os
import platform
import random
import resource
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import orjson
import sqlalchemy
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

import tracefood
from tracefood.ledger import Ledger, NewEntry, merkle
from tracefood.ledger.canonical import canonical_bytes
from tracefood.ledger.keys import create_key

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = os.environ.get("TRACEFOOD_BENCH_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DEFAULT_SIZES = (1_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
ENGINES = ("sqlite", "postgresql")
PEERS = ("SqliteTree", "InmemoryTree")
KEY_ORIGIN = "bench.tracefood/ledger"

# Targets (see the module docstring).
BATCH_TARGET = {"sqlite": 20_000.0, "postgresql": 10_000.0}
PROOF_P50_TARGET_MS = 1.0
VERIFY_TARGET_EPS = 200_000.0
VERIFY_MEMORY_TARGET_MB = 300.0
BIG_SIZE = 1_000_000  # the size at which the proof and memory targets are defined
MIN_SAMPLES = 200  # latency samples taken even past the time budget

T = TypeVar("T")
R = TypeVar("R")


# -- measurements as data -------------------------------------------------------------------


@dataclass
class Latency:
    """Per-call wall-clock latency of ``samples`` calls, in milliseconds."""

    samples: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    mean_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        ordered = sorted(seconds)
        return cls(
            samples=len(ordered),
            p50_ms=_percentile(ordered, 0.50) * 1e3,
            p95_ms=_percentile(ordered, 0.95) * 1e3,
            max_ms=ordered[-1] * 1e3,
            mean_ms=sum(ordered) / len(ordered) * 1e3,
        )


@dataclass
class Throughput:
    """``entries`` appended in ``seconds`` of timed calls; ``latency`` is per call."""

    entries: int
    seconds: float
    entries_per_s: float
    latency: Latency
    per_tenth_entries_per_s: list[float] = field(default_factory=list)


@dataclass
class Verification:
    ok: bool
    size: int
    seconds: float
    entries_per_s: float
    peak_rss_mb: float  # VmHWM of the child: its own peak resident set, imports included
    baseline_rss_mb: float  # VmRSS just before verify() (interpreter, imports, open ledger)
    ru_maxrss_mb: float  # getrusage: inherits the parent's peak across exec (module docstring)
    checkpoints_checked: int
    findings: list[dict[str, Any]]


@dataclass
class RunResult:
    """Everything measured for one system (TraceFood engine or pymerkle backend) at one size."""

    system: str  # "tracefood" or "pymerkle"
    backend: str  # "sqlite", "postgresql", "SqliteTree", "InmemoryTree"
    size: int  # requested size
    reached: int  # entries actually loaded (smaller than size only for a capped pymerkle load)
    capped: bool = False
    batched_append: Throughput | None = None
    single_append: Throughput | None = None
    inclusion: Latency | None = None
    consistency: Latency | None = None
    verification: Verification | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.system}/{self.backend}"


def _percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- workload ----------------------------------------------------------------------------------

_BIZ_STEPS = ("harvesting", "commissioning", "packing", "shipping", "receiving", "storing", "inspecting")
_DISPOSITIONS = ("active", "in_transit", "in_progress", "sellable_not_accessible", "conformant")
_ACTIONS = ("OBSERVE", "ADD", "OBSERVE", "OBSERVE")
_COMPANIES = ("0614141", "4012345", "5412345", "8437001", "3760025")
_UOMS = ("KGM", "LTR", "H87")


def make_payload(i: int, rng: random.Random) -> dict[str, Any]:
    """An EPCIS 2.0 JSON ObjectEvent-shaped payload (CBV short names), unique per ``i``.

    Integers and strings only: the ledger refuses floats, so quantities are decimal strings.
    """
    company = _COMPANIES[i % len(_COMPANIES)]
    item = 100_000 + (i * 7_919) % 900_000
    lot = f"L{i // 500:06d}"
    location = rng.randrange(1, 99_999)
    month, day = 1 + i % 12, 1 + i % 28
    return {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{rng.getrandbits(128):032x}",
        "eventTime": f"2026-{month:02d}-{day:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:"
        f"{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z",
        "action": _ACTIONS[i % len(_ACTIONS)],
        "bizStep": _BIZ_STEPS[i % len(_BIZ_STEPS)],
        "disposition": _DISPOSITIONS[i % len(_DISPOSITIONS)],
        "epcList": [f"urn:epc:id:sgtin:{company}.{item:06d}.{i * 4 + k}" for k in range(1 + i % 2)],
        "readPoint": {"id": f"urn:epc:id:sgln:{company}.{location:05d}.{rng.randrange(1000)}"},
        "bizLocation": {"id": f"urn:epc:id:sgln:{company}.{location:05d}.0"},
        "quantityList": [
            {
                "epcClass": f"urn:epc:class:lgtin:{company}.{item:06d}.{lot}",
                "quantity": f"{rng.randrange(1, 5000)}.{rng.randrange(100):02d}",
                "uom": _UOMS[i % len(_UOMS)],
            }
        ],
        "ilmd": {"lotNumber": lot, "bestBeforeDate": f"2027-{month:02d}-{day:02d}"},
        "seqNo": i,
    }


def payload_batches(start: int, count: int, batch: int, seed: int) -> Iterator[list[dict[str, Any]]]:
    """Payloads ``start .. start+count-1`` in lists of ``batch``; the same seed gives the same data."""
    for first in range(start, start + count, batch):
        rng = random.Random(f"{seed}:{first}")
        yield [make_payload(i, rng) for i in range(first, min(first + batch, start + count))]


def payload_stats(seed: int, sample: int = 2_000) -> dict[str, Any]:
    sizes = [len(canonical_bytes(p)) for batch in payload_batches(0, sample, 1_000, seed) for p in batch]
    return {
        "sample": sample,
        "min_bytes": min(sizes),
        "mean_bytes": round(sum(sizes) / len(sizes), 1),
        "max_bytes": max(sizes),
    }


def to_bytes(payload: dict[str, Any]) -> bytes:
    """How pymerkle receives a payload: JSON bytes with sorted keys."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


# -- databases ---------------------------------------------------------------------------------


@contextmanager
def fresh_database(engine_name: str, workdir: Path, tag: int | str, admin: Engine | None, pg_url: str) -> Iterator[str]:
    """A URL to an empty database (no schema); removed afterwards."""
    if engine_name == "sqlite":
        path = workdir / f"tracefood-{tag}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm", "-writer"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    assert admin is not None
    name = "bench_" + secrets.token_hex(6)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    try:
        yield (
            make_url(pg_url)
            .update_query_dict({"options": f"-csearch_path={name}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))


def build_schema(url: str) -> None:
    """``alembic upgrade head`` on the fresh database (never create_all)."""
    from tracefood import schema  # imported here: the verification child does not need Alembic
    from tracefood.ledger import db

    engine = db.make_engine(url)
    try:
        schema.upgrade(engine)
    finally:
        engine.dispose()


def postgres_problem(pg_url: str) -> str | None:
    try:
        engine = create_engine(pg_url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means "unavailable"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


# -- TraceFood measurements ----------------------------------------------------------------------


class LoadMeter:
    """Timed batch calls of a load: per-call latency, throughput per tenth, progress every 30 s."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.done = 0
        self.calls: list[float] = []
        self.tenths: list[float] = []
        self._tenth_size = max(target // 10, 1)
        self._entries, self._seconds = 0, 0.0
        self._next_log = time.monotonic() + 30

    def add(self, entries: int, seconds: float) -> None:
        self.calls.append(seconds)
        self.done += entries
        self._entries += entries
        self._seconds += seconds
        if self._entries >= self._tenth_size:
            self._close_tenth()
        if time.monotonic() > self._next_log:
            _log(f"  loaded {self.done:,}/{self.target:,} ({self.done / sum(self.calls):,.0f} entries/s so far)")
            self._next_log = time.monotonic() + 30

    def _close_tenth(self) -> None:
        self.tenths.append(round(self._entries / self._seconds, 1))
        self._entries, self._seconds = 0, 0.0

    def result(self) -> Throughput:
        if self._entries:
            self._close_tenth()
        total = sum(self.calls)
        return Throughput(self.done, total, self.done / total, Latency.of(self.calls), self.tenths)


def load_tracefood(ledger: Ledger, count: int, batch: int, seed: int) -> Throughput:
    """Fill an empty ledger with ``count`` entries through ``append_batch``; time the calls only."""
    meter = LoadMeter(count)
    for payloads in payload_batches(0, count, batch, seed):
        items = [NewEntry(p) for p in payloads]
        t0 = time.perf_counter()
        receipts = ledger.append_batch(items)
        meter.add(len(items), time.perf_counter() - t0)
        if receipts[-1].seq != meter.done - 1 or not all(r.created for r in receipts):
            raise RuntimeError(f"append_batch returned unexpected receipts at {meter.done} entries")
    return meter.result()


def time_calls(call: Callable[[T], R], inputs: Sequence[T], budget_s: float) -> tuple[list[float], list[R]]:
    """Time ``call`` on each input after 10 untimed warm-up calls (pool, caches).

    Stops early once ``budget_s`` seconds of timed calls have passed and at least ``MIN_SAMPLES``
    were taken, so a slow system still finishes; the sample count is reported.
    """
    for item in inputs[:10]:
        call(item)
    samples: list[float] = []
    outputs: list[R] = []
    deadline = time.monotonic() + budget_s
    for item in inputs:
        t0 = time.perf_counter()
        outputs.append(call(item))
        samples.append(time.perf_counter() - t0)
        if len(samples) >= MIN_SAMPLES and time.monotonic() > deadline:
            break
    return samples, outputs


def random_pairs(size: int, count: int, rng: random.Random) -> list[tuple[int, int]]:
    """``count`` random tree-size pairs ``1 <= a < b <= size``."""
    pairs = []
    for _ in range(count):
        first = rng.randrange(1, size)
        pairs.append((first, rng.randrange(first + 1, size + 1)))
    return pairs


def measure_tracefood_inclusion(
    ledger: Ledger, size: int, root: bytes, count: int, rng: random.Random, budget_s: float
) -> Latency:
    """Random-index inclusion proofs at ``size``; each verified against ``root`` after timing."""
    indexes = [rng.randrange(size) for _ in range(count)]
    samples, proofs = time_calls(lambda i: ledger.inclusion_proof(i, size), indexes, budget_s)
    for proof in proofs:
        if proof.root != root:
            raise RuntimeError(f"inclusion proof for {proof.index} names another root")
        merkle.verify_inclusion(proof.index, size, proof.leaf_hash, proof.path, root)
    return Latency.of(samples)


def measure_tracefood_consistency(
    ledger: Ledger, size: int, root: bytes, count: int, rng: random.Random, budget_s: float
) -> Latency:
    """Consistency proofs between random sizes ``1 <= a < b <= size``; verified after timing."""
    pairs = random_pairs(size, count, rng)
    samples, proofs = time_calls(lambda ab: ledger.consistency_proof(*ab), pairs, budget_s)
    for proof in proofs:
        if proof.second == size and proof.second_root != root:
            raise RuntimeError("consistency proof names another root for the checkpoint size")
        merkle.verify_consistency(proof.first, proof.second, proof.path, proof.first_root, proof.second_root)
    return Latency.of(samples)


def measure_tracefood_singles(ledger: Ledger, start: int, count: int, seed: int) -> Throughput:
    """``count`` one-entry ``append`` calls on the filled ledger (each its own transaction)."""
    samples: list[float] = []
    for payloads in payload_batches(start, count, 1_000, seed):
        for payload in payloads:
            t0 = time.perf_counter()
            ledger.append(payload)
            samples.append(time.perf_counter() - t0)
    total = sum(samples)
    return Throughput(len(samples), total, len(samples) / total, Latency.of(samples))


def measure_verification(url: str, key_file: Path, note: str, workdir: Path) -> Verification:
    """Run ``Ledger.verify`` in a child process (see :func:`verify_child`) and read its report."""
    note_file = workdir / "held-checkpoint.txt"
    note_file.write_text(note)
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--_verify-child",
            url,
            str(key_file),
            str(note_file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"verification child failed ({done.returncode}):\n{done.stderr}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return Verification(**report)


def verify_child(url: str, key_file: str, note_file: str) -> int:
    """Child process: verify the ledger, print one JSON line with timing and peak RSS."""
    note = Path(note_file).read_text()
    ledger = Ledger.open(url, key_file=key_file)
    gc.collect()
    baseline_kb = proc_status_kb("VmRSS")
    t0 = time.perf_counter()
    report = ledger.verify(held=[note])
    seconds = time.perf_counter() - t0
    rusage_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    peak_kb = proc_status_kb("VmHWM") or rusage_kb
    ledger.close()
    out = Verification(
        ok=bool(report.ok),
        size=int(report.size),
        seconds=seconds,
        entries_per_s=report.size / seconds if seconds else 0.0,
        peak_rss_mb=peak_kb / 1024,
        baseline_rss_mb=(baseline_kb or 0) / 1024,
        ru_maxrss_mb=rusage_kb / 1024,
        checkpoints_checked=int(report.checkpoints_checked),
        findings=[f.to_json() for f in report.findings[:20]],
    )
    print(json.dumps(asdict(out)))
    return 0


def proc_status_kb(name: str) -> int | None:
    """A ``kB`` field of /proc/self/status (``VmHWM``: peak RSS of this process image)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def bench_tracefood(
    engine_name: str, size: int, args: argparse.Namespace, workdir: Path, admin: Engine | None
) -> RunResult:
    """Load, prove, verify and single-append on a fresh ledger of ``size`` entries."""
    rng = random.Random(f"{args.seed}:{engine_name}:{size}")
    result = RunResult("tracefood", engine_name, size, size)
    key_file = workdir / f"ledger-{engine_name}-{size}.key"
    key_file.unlink(missing_ok=True)
    create_key(key_file, KEY_ORIGIN)
    with fresh_database(engine_name, workdir, size, admin, args.postgresql_url) as url:
        build_schema(url)
        ledger = Ledger.open(url, key_file=key_file, sqlite_synchronous=args.sqlite_synchronous)
        try:
            _log(f"tracefood/{engine_name} N={size:,}: batched append")
            result.batched_append = load_tracefood(ledger, size, args.batch, args.seed)
            t0 = time.perf_counter()
            checkpoint = ledger.checkpoints.sign()  # the appends signed it: this reads it back
            result.extra["checkpoint_seconds"] = time.perf_counter() - t0
            root = checkpoint.checkpoint.root
            _log(f"tracefood/{engine_name} N={size:,}: proofs")
            result.inclusion = measure_tracefood_inclusion(ledger, size, root, args.proofs, rng, args.proof_budget)
            result.consistency = measure_tracefood_consistency(ledger, size, root, args.proofs, rng, args.proof_budget)
            _log(f"tracefood/{engine_name} N={size:,}: verification (child process)")
            result.verification = measure_verification(url, key_file, checkpoint.note, workdir)
            _log(f"tracefood/{engine_name} N={size:,}: single appends")
            result.single_append = measure_tracefood_singles(ledger, size, args.singles, args.seed)
            result.extra["storage_bytes"] = storage_bytes(ledger.engine, url)
        finally:
            ledger.close()
    key_file.unlink(missing_ok=True)
    return result


def storage_bytes(engine: Engine, url: str) -> int | None:
    """On-disk size of the ledger (SQLite file + WAL, or the schema's relations on PostgreSQL)."""
    if engine.dialect.name == "sqlite":
        path = make_url(url).database or ""
        return sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())
    with engine.connect() as conn:
        value = conn.execute(
            text(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )
        ).scalar()
    return int(value) if value is not None else None


# -- pymerkle measurements -----------------------------------------------------------------------


def pymerkle_options() -> dict[str, Any]:
    """Constructor options: SHA-256 with 0x00/0x01 prefixes (RFC 6962); cache left at its defaults."""
    return {
        "algorithm": "sha256",
        "disable_security": False,  # keep the 0x00 leaf / 0x01 node prefixes: RFC 6962 hashing
        "threshold": 128,  # default: cache subroots of >= 128 leaves
        "capacity": 1024**3,  # default: 1 GiB subroot cache
        "disable_optimizations": False,
        "disable_cache": False,
    }


def pymerkle_matches_rfc6962() -> bool:
    """True if pymerkle, as configured, computes TraceFood's RFC 6962 roots for the same data."""
    import pymerkle

    for n in (1, 2, 3, 7, 8, 13, 64, 100):
        data = [f"entry {i}".encode() for i in range(n)]
        tree = pymerkle.InmemoryTree(**pymerkle_options())
        tree.append_entries(data)
        if tree.get_root() != merkle.root_of([merkle.leaf_hash(d) for d in data]):
            return False
    return True


def open_pymerkle(backend: str, path: Path) -> Any:
    import pymerkle

    if backend == "SqliteTree":
        path.unlink(missing_ok=True)
        return pymerkle.SqliteTree(str(path), **pymerkle_options())
    return pymerkle.InmemoryTree(**pymerkle_options())


def load_pymerkle(tree: Any, count: int, batch: int, seed: int, budget_s: float) -> tuple[Throughput, bool]:
    """``append_entries`` in batches until ``count`` or the time budget; return (throughput, capped)."""
    meter = LoadMeter(count)
    deadline = time.monotonic() + budget_s
    capped = False
    for payloads in payload_batches(0, count, batch, seed):
        t0 = time.perf_counter()
        tree.append_entries([to_bytes(p) for p in payloads])
        meter.add(len(payloads), time.perf_counter() - t0)
        if meter.done < count and time.monotonic() > deadline:
            capped = True
            break
    if tree.get_size() != meter.done:
        raise RuntimeError(f"pymerkle holds {tree.get_size()} leaves, expected {meter.done}")
    return meter.result(), capped


def measure_pymerkle_inclusion(tree: Any, size: int, count: int, rng: random.Random, budget_s: float) -> Latency:
    """``prove_inclusion`` at random indexes; verified with ``pymerkle.verify_inclusion`` after timing."""
    import pymerkle

    indexes = [rng.randrange(size) for _ in range(count)]
    # pymerkle counts leaves from one
    samples, proofs = time_calls(lambda i: tree.prove_inclusion(i + 1, size), indexes, budget_s)
    root = tree.get_root(size)  # after timing: computing it warms pymerkle's subroot cache
    for i, proof in zip(indexes, proofs, strict=False):
        pymerkle.verify_inclusion(tree.get_leaf(i + 1), root, proof, index=i + 1, size=size, algorithm="sha256")
    return Latency.of(samples)


def measure_pymerkle_consistency(tree: Any, size: int, count: int, rng: random.Random, budget_s: float) -> Latency:
    """``prove_consistency`` between random sizes; verified after timing (roots computed after)."""
    import pymerkle

    pairs = random_pairs(size, count, rng)
    samples, proofs = time_calls(lambda ab: tree.prove_consistency(*ab), pairs, budget_s)
    for (a, b), proof in zip(pairs, proofs, strict=False):
        pymerkle.verify_consistency(
            tree.get_root(a), tree.get_root(b), proof, prior_size=a, later_size=b, algorithm="sha256"
        )
    return Latency.of(samples)


def measure_pymerkle_singles(tree: Any, start: int, count: int, seed: int) -> Throughput:
    samples: list[float] = []
    for payloads in payload_batches(start, count, 1_000, seed):
        for payload in payloads:
            t0 = time.perf_counter()
            tree.append_entry(to_bytes(payload))
            samples.append(time.perf_counter() - t0)
    total = sum(samples)
    return Throughput(len(samples), total, len(samples) / total, Latency.of(samples))


def measure_pymerkle_root_recompute(tree: Any) -> dict[str, Any]:
    """Cold ``get_root`` of ``SqliteTree``: rehashes stored leaf hashes, not the entries (info only)."""
    tree.cache_clear()
    size = tree.get_size()
    t0 = time.perf_counter()
    tree.get_root()
    seconds = time.perf_counter() - t0
    return {
        "size": size,
        "seconds": seconds,
        "entries_per_s": size / seconds if seconds else 0.0,
        "note": "cold SqliteTree.get_root(): folds stored leaf hashes; entries are not re-hashed, "
        "no chain, nodes or signatures are checked; not comparable with Ledger.verify",
    }


def sqlite_pragmas(con: sqlite3.Connection) -> dict[str, Any]:
    return {name: con.execute(f"PRAGMA {name}").fetchone() for name in ("journal_mode", "synchronous")}


def bench_pymerkle(backend: str, size: int, args: argparse.Namespace, workdir: Path) -> RunResult:
    """The same workload on a pymerkle tree (loading capped by ``--pymerkle-budget``)."""
    rng = random.Random(f"{args.seed}:pymerkle:{backend}:{size}")
    path = workdir / f"pymerkle-{size}.db"
    tree = open_pymerkle(backend, path)
    try:
        _log(f"pymerkle/{backend} N={size:,}: batched append (budget {args.pymerkle_budget:.0f} s)")
        loaded, capped = load_pymerkle(tree, size, args.batch, args.seed, args.pymerkle_budget)
        reached = loaded.entries
        result = RunResult("pymerkle", backend, size, reached, capped, batched_append=loaded)
        if capped:
            _log(f"  pymerkle/{backend} capped at {reached:,} of {size:,} entries")
        if backend == "SqliteTree":
            result.extra["sqlite"] = sqlite_pragmas(tree.con)
        _log(f"pymerkle/{backend} N={reached:,}: proofs")
        result.inclusion = measure_pymerkle_inclusion(tree, reached, args.proofs, rng, args.proof_budget)
        result.consistency = measure_pymerkle_consistency(tree, reached, args.proofs, rng, args.proof_budget)
        result.extra["cache"] = tree.get_cache_info()._asdict()
        _log(f"pymerkle/{backend} N={reached:,}: single appends")
        result.single_append = measure_pymerkle_singles(tree, reached, args.singles, args.seed)
        if backend == "SqliteTree":
            result.extra["root_recompute"] = measure_pymerkle_root_recompute(tree)
            result.extra["storage_bytes"] = path.stat().st_size
    finally:
        if backend == "SqliteTree":
            tree.close()
            path.unlink(missing_ok=True)
        del tree
        gc.collect()
    return result


# -- targets and comparisons ---------------------------------------------------------------------


@dataclass
class Check:
    """One target row: ``value`` against ``threshold`` (``at_least`` or at most)."""

    target: str
    backend: str
    size: int
    value: float | None
    threshold: float
    unit: str
    at_least: bool
    applies: bool  # False: shown for reference (the target is defined at another size)

    @property
    def met(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.threshold if self.at_least else self.value <= self.threshold

    @property
    def verdict(self) -> str:
        if self.applies:
            return "PASS" if self.met else "FAIL"
        return "(pass)" if self.met else "(fail)"


def target_checks(results: Sequence[RunResult]) -> list[Check]:
    checks: list[Check] = []
    for r in results:
        if r.system != "tracefood":
            continue
        big = r.size >= BIG_SIZE
        if r.batched_append:
            checks.append(
                Check(
                    "batched append",
                    r.backend,
                    r.size,
                    r.batched_append.entries_per_s,
                    BATCH_TARGET[r.backend],
                    "entries/s",
                    True,
                    True,
                )
            )
        for name, lat in (("inclusion proof p50", r.inclusion), ("consistency proof p50", r.consistency)):
            if lat:
                checks.append(Check(name, r.backend, r.size, lat.p50_ms, PROOF_P50_TARGET_MS, "ms", False, big))
        if r.verification:
            v = r.verification
            checks.append(
                Check(
                    "verification",
                    r.backend,
                    r.size,
                    v.entries_per_s if v.ok else None,
                    VERIFY_TARGET_EPS,
                    "entries/s",
                    True,
                    True,
                )
            )
            checks.append(
                Check(
                    "verification peak RSS",
                    r.backend,
                    r.size,
                    v.peak_rss_mb,
                    VERIFY_MEMORY_TARGET_MB,
                    "MiB",
                    False,
                    big,
                )
            )
    return checks


@dataclass
class Ratio:
    """TraceFood vs pymerkle on one metric; ``ratio`` > 1 means TraceFood is faster."""

    size: int
    metric: str
    ours: str
    theirs: str
    ours_value: float
    theirs_value: float
    unit: str
    ratio: float
    ratio_p95: float | None
    theirs_size: int
    comparison: str

    @property
    def ahead(self) -> bool:
        return self.ratio > 1.0


def _comparison(ours: str, theirs: str) -> str:
    if ours == "sqlite" and theirs == "SqliteTree":
        return "apples-to-apples: both durable SQLite files on the same disk"
    if theirs == "SqliteTree":
        return "cross-engine: PostgreSQL server vs an embedded SQLite file (pymerkle has no PostgreSQL store)"
    return "durable database vs pymerkle's RAM-only tree"


def ratio_rows(results: Sequence[RunResult]) -> list[Ratio]:
    rows: list[Ratio] = []
    ours_runs = [r for r in results if r.system == "tracefood"]
    peers = {(r.backend, r.size): r for r in results if r.system == "pymerkle"}
    for o in ours_runs:
        for peer_name in PEERS:
            t = peers.get((peer_name, o.size))
            if t is None:
                continue
            note = _comparison(o.backend, peer_name)
            if t.capped:
                note += f"; pymerkle capped at {t.reached:,} entries (ours at {o.size:,})"
            for metric, a, b in (
                ("batched append", o.batched_append, t.batched_append),
                ("single append", o.single_append, t.single_append),
            ):
                if a and b:
                    rows.append(
                        Ratio(
                            o.size,
                            metric,
                            o.backend,
                            peer_name,
                            a.entries_per_s,
                            b.entries_per_s,
                            "entries/s",
                            a.entries_per_s / b.entries_per_s,
                            b.latency.p95_ms / a.latency.p95_ms,
                            t.reached,
                            note,
                        )
                    )
            for metric, la, lb in (
                ("inclusion proof p50", o.inclusion, t.inclusion),
                ("consistency proof p50", o.consistency, t.consistency),
            ):
                if la and lb:
                    rows.append(
                        Ratio(
                            o.size,
                            metric,
                            o.backend,
                            peer_name,
                            la.p50_ms,
                            lb.p50_ms,
                            "ms",
                            lb.p50_ms / la.p50_ms,
                            lb.p95_ms / la.p95_ms,
                            t.reached,
                            note,
                        )
                    )
    return rows


# -- report ------------------------------------------------------------------------------------


def machine_info(pg_url: str | None) -> dict[str, Any]:
    import pymerkle

    info: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite": sqlite3.sqlite_version,
        "tracefood": tracefood.__version__,
        "pymerkle": pymerkle.__version__,
        "orjson": orjson.__version__,
        "memory_total_mb": _meminfo_total_mb(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "git": _git_state(),
    }
    try:
        import psycopg

        info["psycopg"] = psycopg.__version__
    except ImportError:
        info["psycopg"] = None
    if pg_url:
        engine = create_engine(pg_url)
        with engine.connect() as conn:
            info["postgresql"] = {
                "version": conn.execute(text("SHOW server_version")).scalar(),
                **{
                    name: conn.execute(text(f"SHOW {name}")).scalar()
                    for name in ("synchronous_commit", "fsync", "shared_buffers", "wal_level")
                },
            }
        engine.dispose()
    return info


def _meminfo_total_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def source_sha256() -> str:
    """Hash of the code under test (tracefood/ and migrations/), to tie results to exact sources."""
    files = sorted([*(REPO / "tracefood").rglob("*.py"), *(REPO / "migrations").rglob("*.py")])
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _git_state() -> dict[str, Any] | None:
    """HEAD, the uncommitted ledger files, and the source hash (others edit the code too)."""
    state: dict[str, Any] = {"source_sha256": source_sha256()}
    git = shutil.which("git")
    if git is None:
        return state
    try:
        head = subprocess.run(
            [git, "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [git, "-C", str(REPO), "status", "--porcelain", "--", "tracefood", "migrations"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return state
    return {"commit": head, "uncommitted": [line[3:] for line in dirty], **state}


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _lat(lat: Latency | None) -> list[str]:
    if lat is None:
        return ["-", "-", "-"]
    return [_num(lat.p50_ms, 3), _num(lat.p95_ms, 3), _num(lat.max_ms, 2)]


def results_table(results: Sequence[RunResult]) -> str:
    headers = [
        "system",
        "size",
        "batch e/s",
        "single e/s",
        "single p50",
        "single p95",
        "incl p50",
        "incl p95",
        "incl max",
        "cons p50",
        "cons p95",
        "cons max",
        "verify e/s",
        "verify MiB",
    ]
    rows = []
    for r in results:
        size = f"{r.reached:,}" + ("*" if r.capped else "")
        s = r.single_append
        v = r.verification
        rows.append(
            [
                r.label,
                size,
                _num(r.batched_append.entries_per_s if r.batched_append else None),
                _num(s.entries_per_s if s else None),
                _num(s.latency.p50_ms if s else None, 3),
                _num(s.latency.p95_ms if s else None, 3),
                *_lat(r.inclusion),
                *_lat(r.consistency),
                (_num(v.entries_per_s) + ("" if v.ok else " NOT OK")) if v else "-",
                _num(v.peak_rss_mb, 1) if v else "-",
            ]
        )
    return render_table(headers, rows, set(range(1, len(headers))))


def checks_table(checks: Sequence[Check]) -> str:
    rows = [
        [
            c.target,
            c.backend,
            f"{c.size:,}",
            _num(c.value, 3 if c.unit == "ms" else 0),
            c.unit,
            (">= " if c.at_least else "<= ") + _num(c.threshold, 3 if c.unit == "ms" else 0),
            c.verdict,
        ]
        for c in checks
    ]
    return render_table(["target", "engine", "size", "value", "unit", "threshold", "verdict"], rows, {2, 3})


def ratios_table(ratios: Sequence[Ratio]) -> str:
    """One row per (size, metric, TraceFood engine); one value/ratio/verdict group per pymerkle backend."""
    groups: dict[tuple[int, str, str], dict[str, Ratio]] = {}
    for r in ratios:
        groups.setdefault((r.size, r.metric, r.ours), {})[r.theirs] = r
    headers = ["size", "metric", "TraceFood", "ours", "unit"]
    for peer in PEERS:
        headers += [f"{peer}", "ratio", "verdict"]
    rows = []
    for (size, metric, ours), by_peer in groups.items():
        first = next(iter(by_peer.values()))
        digits = 3 if first.unit == "ms" else 0
        row = [f"{size:,}", metric, ours, _num(first.ours_value, digits), first.unit]
        for peer in PEERS:
            peer_row = by_peer.get(peer)
            if peer_row is None:
                row += ["-", "-", ""]
                continue
            capped = "*" if peer_row.theirs_size != peer_row.size else ""
            row += [
                _num(peer_row.theirs_value, digits) + capped,
                f"{peer_row.ratio:.2f}x",
                "ahead" if peer_row.ahead else "BEHIND",
            ]
        rows.append(row)
    return render_table(headers, rows, {0, 3, 5, 6, 8, 9})


def print_report(
    results: Sequence[RunResult], checks: Sequence[Check], ratios: Sequence[Ratio], info: dict[str, Any]
) -> None:
    print(
        f"\nTraceFood ledger benchmark — {info['date']}, {info['cpu_count']} CPUs, Python {info['python']}, "
        f"SQLAlchemy {info['sqlalchemy']}, SQLite {info['sqlite']}, pymerkle {info['pymerkle']}"
        + (f", PostgreSQL {info['postgresql']['version']}" if info.get("postgresql") else "")
        + f"; load average at start {info['loadavg_at_start'][0]:.2f}"
    )
    print("\nMeasurements (e/s = entries per second; latencies in ms; * = pymerkle load capped by the budget)\n")
    print(results_table(results))
    print("\nTargets ((pass)/(fail): the target is defined at 10^6 entries; shown for reference)\n")
    print(checks_table(checks))
    print(
        "\nTraceFood vs pymerkle (ratio > 1: TraceFood faster; throughput ours/theirs, latency theirs/ours;"
        " * = pymerkle capped; p95 ratios in the JSON)\n"
    )
    print(ratios_table(ratios))
    notes = sorted({f"tracefood/{r.ours} vs pymerkle/{r.theirs}: {r.comparison}" for r in ratios})
    for note in notes:
        print(f"  - {note}")
    for r in results:
        rec = r.extra.get("root_recompute")
        if rec:
            print(
                f"  - info, not a ratio row: pymerkle/{r.backend} N={rec['size']:,} cold root recomputation "
                f"{rec['entries_per_s']:,.0f} leaves/s ({rec['note']})"
            )
    applicable = [c for c in checks if c.applies]
    failed = [c for c in applicable if not c.met]
    behind = [r for r in ratios if not r.ahead]
    print(
        f"\nSummary: {len(applicable) - len(failed)}/{len(applicable)} targets met; "
        f"ahead of pymerkle on {len(ratios) - len(behind)}/{len(ratios)} rows."
    )


# -- driver ------------------------------------------------------------------------------------


def parse_sizes(text_value: str) -> list[int]:
    sizes = []
    for part in text_value.split(","):
        part = part.strip().replace("_", "")
        value = float(part) if any(c in part for c in ".eE") else int(part)
        if value < 2 or value != int(value):
            raise argparse.ArgumentTypeError(f"sizes must be integers >= 2, got {part!r}")
        sizes.append(int(value))
    return sizes


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--sizes",
        type=parse_sizes,
        default=None,
        help="comma-separated ledger sizes (default 1000,100000,1000000; --quick: 1000,10000)",
    )
    p.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: sqlite,postgresql")
    p.add_argument(
        "--peers",
        default=",".join(PEERS),
        help="pymerkle backends to compare with: SqliteTree,InmemoryTree, or 'none'",
    )
    p.add_argument("--json-out", type=Path, default=Path("bench-results/ledger.json"))
    p.add_argument("--quick", action="store_true", help="smoke run: sizes 10^3 and 10^4, fewer samples")
    p.add_argument("--batch", type=int, default=1_000, help="entries per append_batch call")
    p.add_argument("--proofs", type=int, default=None, help="proofs timed per kind (default 2000; quick 300)")
    p.add_argument(
        "--proof-budget",
        type=float,
        default=120.0,
        help=f"seconds of timed proofs per kind before stopping early (at least {MIN_SAMPLES} samples)",
    )
    p.add_argument("--singles", type=int, default=None, help="single appends timed (default 2000; quick 300)")
    p.add_argument(
        "--pymerkle-budget",
        type=float,
        default=None,
        help="seconds allowed for loading one pymerkle tree (default 600; quick 30)",
    )
    p.add_argument("--sqlite-synchronous", default="FULL", help="TraceFood's SQLite PRAGMA synchronous")
    p.add_argument("--postgresql-url", default=DEFAULT_PG_URL)
    p.add_argument("--tmp-dir", type=Path, default=None, help="where SQLite files go (default: system temp)")
    p.add_argument("--seed", type=int, default=20_261_128)
    p.add_argument("--_verify-child", nargs=3, metavar=("URL", "KEYFILE", "NOTEFILE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.sizes is None:
        args.sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    args.proofs = args.proofs or (300 if args.quick else 2_000)
    args.singles = args.singles or (300 if args.quick else 2_000)
    args.pymerkle_budget = args.pymerkle_budget or (30.0 if args.quick else 600.0)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    args.peers = [] if args.peers.strip().lower() == "none" else [x.strip() for x in args.peers.split(",")]
    for engine_name in args.engines:
        if engine_name not in ENGINES:
            p.error(f"unknown engine {engine_name!r}; choose from {', '.join(ENGINES)}")
    for peer in args.peers:
        if peer not in PEERS:
            p.error(f"unknown pymerkle backend {peer!r}; choose from {', '.join(PEERS)}")
    return args


def with_context(measure: Callable[[], RunResult]) -> RunResult:
    """Run one measurement; note its wall time and the machine load around it (noise check)."""
    before = os.getloadavg()
    t0 = time.monotonic()
    result = measure()
    result.extra["wall_seconds"] = round(time.monotonic() - t0, 1)
    result.extra["loadavg_1m_before_after"] = [round(before[0], 2), round(os.getloadavg()[0], 2)]
    return result


def run(args: argparse.Namespace) -> int:
    use_pg = "postgresql" in args.engines
    if use_pg and (problem := postgres_problem(args.postgresql_url)):
        print(f"PostgreSQL is unreachable at {args.postgresql_url}: {problem}", file=sys.stderr)
        return 2
    info = machine_info(args.postgresql_url if use_pg else None)
    rfc6962 = pymerkle_matches_rfc6962()
    if not rfc6962:
        print("warning: pymerkle's roots differ from TraceFood's RFC 6962 roots", file=sys.stderr)
    admin = create_engine(args.postgresql_url) if use_pg else None
    results: list[RunResult] = []
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="tracefood-bench-", dir=args.tmp_dir) as tmp:
            workdir = Path(tmp)
            for size in args.sizes:
                for engine_name in args.engines:
                    results.append(with_context(partial(bench_tracefood, engine_name, size, args, workdir, admin)))
                for peer in args.peers:
                    results.append(with_context(partial(bench_pymerkle, peer, size, args, workdir)))
    finally:
        if admin is not None:
            admin.dispose()
    checks = target_checks(results)
    ratios = ratio_rows(results)
    print_report(results, checks, ratios, info)
    source_at_end = source_sha256()
    code_changed = bool(info["git"]) and source_at_end != info["git"]["source_sha256"]
    if code_changed:
        print(
            "\nWARNING: tracefood/ or migrations/ changed during the run; verification children "
            "(fresh imports) may have run newer code than the loader"
        )
    document = {
        "machine": info,
        "command": [Path(sys.executable).name, *sys.argv],
        "config": {
            "sizes": args.sizes,
            "engines": args.engines,
            "peers": args.peers,
            "batch": args.batch,
            "proofs": args.proofs,
            "proof_budget_s": args.proof_budget,
            "singles": args.singles,
            "pymerkle_budget_s": args.pymerkle_budget,
            "sqlite_synchronous": args.sqlite_synchronous,
            "quick": args.quick,
            "seed": args.seed,
            "postgresql_url": args.postgresql_url if use_pg else None,
            "payload": payload_stats(args.seed),
            "tmp_dir": str(args.tmp_dir or tempfile.gettempdir()),
        },
        "pymerkle_config": {
            "options": pymerkle_options(),
            "hashing": "sha256 with 0x00 leaf / 0x01 node prefixes (RFC 6962)",
            "rfc6962_roots_match_tracefood": rfc6962,
            "input": "orjson.dumps(payload, OPT_SORT_KEYS) bytes, serialisation included in timings",
            "batched_append": "append_entries(batch of 1,000) (SqliteTree: one transaction per call)",
            "single_append": "append_entry(bytes) (SqliteTree: one transaction per call)",
            "storage": "SqliteTree uses Python sqlite3 defaults (see results[].extra.sqlite)",
        },
        "targets": {
            "batched_append_entries_per_s": BATCH_TARGET,
            "proof_p50_ms_at_1e6": PROOF_P50_TARGET_MS,
            "verification_entries_per_s": VERIFY_TARGET_EPS,
            "verification_peak_rss_mb_at_1e6": VERIFY_MEMORY_TARGET_MB,
            "ahead_of_pymerkle": "ratio > 1 on every ratio row",
        },
        "results": [asdict(r) for r in results],
        "checks": [{**asdict(c), "met": c.met, "verdict": c.verdict} for c in checks],
        "ratios": [{**asdict(r), "ahead": r.ahead} for r in ratios],
        "summary": {
            "targets_met": all(c.met for c in checks if c.applies),
            "ahead_on_every_row": all(r.ahead for r in ratios),
            "total_seconds": round(time.monotonic() - started, 1),
            "source_sha256_at_end": source_at_end,
            "source_changed_during_run": code_changed,
        },
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nJSON written to {args.json_out} ({time.monotonic() - started:.0f} s in all)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args._verify_child:
        return verify_child(*args._verify_child)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
