"""Trace and recall benchmark on synthetic supply chains of 10^4, 10^5 and 10^6 events.

Run from the repository root (prints a table, writes JSON)::

    python tools/bench_trace.py                      # 10^4, 10^5 and 10^6 events (SQLite)
    python tools/bench_trace.py --quick              # 10^4 only, fewer samples
    python tools/bench_trace.py --sizes 10000,100000 --json-out bench-results/trace.json

Each ledger is built once by ``tools/synth.py`` (deterministic by seed, recorded through the
public ``EventStore``) and kept in ``bench-results/cache/trace-<size>.db``. Then, per size:

``trace back`` / ``trace forward``
    ``tracefood.ledger.trace.trace`` for a fixed random sample of lots (seeded), one call each
    after a warm-up; p50/p95/max latency, and the mean size of the answer (lots). Only answers of
    at most 1,000 lots count towards the target (all of them here).
``recall scope + XLSX``
    for the harvest lots whose forward trace is largest in the sample: the recall scope (the
    union of trace forward, as ``recalls.issue`` computes it), the FSMA 204 rows and the XLSX file
    (the ledger event itself is not appended, so the cached ledger stays as built).
``EPCIS query``
    ``GET /epcis/events?MATCH_anyEPCClass=<lot>`` through the app (Flask test client, in
    process), p50/p95.
``baseline: hop-by-hop``
    what a user of a plain EPCIS repository does (as public traceback resolvers do): query the
    events naming the lot, follow TransformationEvents to the next lots, query again, until no
    new lot appears; the same lots, the same process (no network), so the ratio flatters the
    baseline.

Targets at 10^6 events: trace p95 <= 50 ms for answers up to 1,000 lots; recall scope and XLSX
<= 2 s; cost growing with the size of the answer, not of the ledger.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import math
import os
import platform
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
for path in (str(REPO), str(REPO / "tools")):
    if path not in sys.path:
        sys.path.insert(0, path)

import synth  # noqa: E402

from tracefood import schema  # noqa: E402
from tracefood.ledger import Ledger, db, recalls, records, trace  # noqa: E402
from tracefood.ledger.keys import create_key  # noqa: E402
from tracefood.ledger.registry import OPERATOR, Registry  # noqa: E402
from tracefood.ledger.tables import lots  # noqa: E402

SEED = 1
TRACE_P95_TARGET_MS = 50.0
RECALL_TARGET_S = 2.0


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    if not ordered:
        return {"samples": 0}

    def at(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000

    return {"samples": len(ordered), "p50_ms": at(0.5), "p95_ms": at(0.95), "max_ms": ordered[-1] * 1000}


def build(size: int, cache: Path) -> tuple[Ledger, Path]:
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"trace-{size}.db"
    key = cache / f"trace-{size}.key"
    url = f"sqlite:///{path}"
    if not path.exists():
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
    return Ledger.open(url, key_file=key, sqlite_synchronous="NORMAL"), key


def sample_lots(ledger: Ledger, count: int, rng: random.Random) -> list[str]:
    with db.read_snapshot(ledger.engine) as conn:
        top = conn.execute(lots.select().with_only_columns(lots.c.id).order_by(lots.c.id.desc()).limit(1)).scalar()
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


def measure_trace(ledger: Ledger, keys: Sequence[str], direction: str) -> dict[str, Any]:
    trace.trace(ledger.engine, keys[0], direction)  # warm-up
    times, sizes = [], []
    for key in keys:
        t0 = time.perf_counter()
        result = trace.trace(ledger.engine, key, direction)
        times.append(time.perf_counter() - t0)
        sizes.append(result["counts"]["lots"])
    return percentiles(times) | {"mean_lots": sum(sizes) / len(sizes), "max_lots": max(sizes)}


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


class Client:
    """The app in process, with an admin token: EPCIS queries as a repository user makes them."""

    def __init__(self, ledger: Ledger, key: Path, home: Path) -> None:
        from tracefood.web.app import create_app

        _admin(ledger)
        token, _ = Registry(ledger.engine).create_token("bench-admin", "admin", OPERATOR)
        app = create_app({"DATABASE_URL": str(ledger.engine.url.render_as_string(hide_password=False)),
                          "LEDGER_KEY_FILE": str(key), "HOME": str(home), "SECRET_KEY": "bench",
                          "LABEL_MASTER_KEY": base64.b64encode(bytes(32)).decode()})  # fmt: skip
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def events(self, **params: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
        out: list[dict[str, Any]] = []
        url = f"/epcis/events?{query}&perPage=1000"
        while url:
            response = self.client.get(url, headers=self.headers)
            if response.status_code != 200:
                raise SystemExit(
                    f"EPCIS query {url} answered {response.status_code}: {response.get_data(as_text=True)[:300]}"
                )
            body = response.get_json()
            out += body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            link = response.headers.get("Link", "")
            url = link[link.index("<") + 1 : link.index(">")].split("://", 1)[-1] if 'rel="next"' in link else ""
            if url and not url.startswith("/"):
                url = url[url.index("/") :]
        return out


def _admin(ledger: Ledger) -> None:
    reg = Registry(ledger.engine)
    if not any(p["id"] == "bench-admin" for p in reg.list("party")):
        reg.create("party", {"id": "bench-admin", "name": "Benchmark", "country": "CA"}, OPERATOR)


def hop_by_hop(client: Client, start: str, direction: str) -> tuple[set[str], int]:
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


def measure_epcis(client: Client, keys: Sequence[str]) -> dict[str, Any]:
    times = []
    for key in keys:
        t0 = time.perf_counter()
        client.events(MATCH_anyEPCClass=key)
        times.append(time.perf_counter() - t0)
    return percentiles(times)


def measure_baseline(ledger: Ledger, client: Client, keys: Sequence[str], direction: str) -> dict[str, Any]:
    base, ours, queries = [], [], []
    for key in keys:
        t0 = time.perf_counter()
        found, n = hop_by_hop(client, key, direction)
        base.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        result = trace.trace(ledger.engine, key, direction)
        ours.append(time.perf_counter() - t0)
        queries.append(n)
        mine = {k for k in result["lots"]}
        if found != mine:
            raise SystemExit(f"baseline and trace disagree on {key} ({direction}): {sorted(found ^ mine)[:5]}")
    b, o = percentiles(base), percentiles(ours)
    return {"baseline": b, "tracefood": o, "mean_queries": sum(queries) / len(queries),
            "ratio_p50": b["p50_ms"] / o["p50_ms"], "ratio_p95": b["p95_ms"] / o["p95_ms"]}  # fmt: skip


def run_size(size: int, samples: int, cache: Path) -> dict[str, Any]:
    ledger, key = build(size, cache)
    rng = random.Random(size)
    keys = sample_lots(ledger, samples, rng)
    _log(f"{size:,}: tracing {len(keys)} lots")
    out: dict[str, Any] = {"events": ledger.size(), "sampled_lots": len(keys)}
    out["back"] = measure_trace(ledger, keys, "back")
    out["forward"] = measure_trace(ledger, keys, "forward")
    out["recall"] = measure_recall(ledger, keys[:50])
    home = cache / f"home-{size}"
    home.mkdir(exist_ok=True)
    client = Client(ledger, key, home)
    out["epcis_query"] = measure_epcis(client, keys[:100])
    out["baseline_back"] = measure_baseline(ledger, client, keys[:30], "back")
    out["baseline_forward"] = measure_baseline(ledger, client, keys[:30], "forward")
    ledger.close()
    return out


def table(results: dict[int, dict[str, Any]]) -> str:
    head = ["events", "back p50/p95/max ms", "fwd p50/p95/max ms", "lots back/fwd (mean)", "recall+XLSX s (lots)",
            "EPCIS query p50/p95 ms", "hop-by-hop / TraceFood (p50)"]  # fmt: skip
    rows = []
    for _, r in sorted(results.items()):
        b, f = r["back"], r["forward"]
        rows.append([
            f"{r['events']:,}",
            f"{b['p50_ms']:.1f} / {b['p95_ms']:.1f} / {b['max_ms']:.1f}",
            f"{f['p50_ms']:.1f} / {f['p95_ms']:.1f} / {f['max_ms']:.1f}",
            f"{b['mean_lots']:.1f} / {f['mean_lots']:.1f}",
            f"{r['recall']['max_total_s']:.2f} ({r['recall']['largest_scope']})",
            f"{r['epcis_query']['p50_ms']:.1f} / {r['epcis_query']['p95_ms']:.1f}",
            f"back {r['baseline_back']['ratio_p50']:.1f}x, fwd {r['baseline_forward']['ratio_p50']:.1f}x",
        ])  # fmt: skip
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--quick", action="store_true", help="10^4 events only, fewer samples")
    p.add_argument("--sizes", default=None, help="comma-separated ledger sizes (default 10000,100000,1000000)")
    p.add_argument("--samples", type=int, default=None, help="lots traced per size (default 200; quick 50)")
    p.add_argument("--cache", type=Path, default=REPO / "bench-results" / "cache")
    p.add_argument("--json-out", type=Path, default=REPO / "bench-results" / "trace.json")
    args = p.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("10000" if args.quick else "10000,100000,1000000")).split(",")]
    samples = args.samples or (50 if args.quick else 200)
    started = time.monotonic()
    results = {size: run_size(size, samples, args.cache) for size in sizes}
    print(table(results))
    top = results[max(results)]
    checks = {
        "trace_p95_ms_at_largest": max(top["back"]["p95_ms"], top["forward"]["p95_ms"]),
        "trace_target_met": max(top["back"]["p95_ms"], top["forward"]["p95_ms"]) <= TRACE_P95_TARGET_MS,
        "recall_s_at_largest": top["recall"]["max_total_s"],
        "recall_target_met": top["recall"]["max_total_s"] <= RECALL_TARGET_S,
    }
    print(f"\nat {max(results):,} events: trace p95 {checks['trace_p95_ms_at_largest']:.1f} ms "
          f"(target <= {TRACE_P95_TARGET_MS:g}: {'PASS' if checks['trace_target_met'] else 'FAIL'}); "
          f"recall + XLSX {checks['recall_s_at_largest']:.2f} s "
          f"(target <= {RECALL_TARGET_S:g}: {'PASS' if checks['recall_target_met'] else 'FAIL'})")  # fmt: skip
    document = {
        "machine": {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
        },
        "command": [Path(sys.executable).name, *sys.argv],
        "results": {str(k): v for k, v in results.items()},
        "checks": checks,
        "total_seconds": round(time.monotonic() - started, 1),
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"JSON written to {args.json_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
