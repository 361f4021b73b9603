"""The trace benchmark (``tools/bench_trace.py``) runs end to end on a tiny ledger and writes the
JSON its readers expect: the wide answers with their sizes, and the HTTP baseline's ratios. No
timing is checked, only shapes, counts and that the append of the wide structures is idempotent."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import bench_trace  # a developer tool, imported from its folder

SIZE = 2_000


@pytest.mark.parametrize("answer", sorted(bench_trace.WIDE_SHAPES))
def test_wide_structures__as_many_lots_as_the_answer_size(answer: int) -> None:
    forward, back = bench_trace.wide_structures([answer])
    assert (forward.direction, back.direction) == ("forward", "back")
    assert len(forward.lot_codes) == len(back.lot_codes) == answer
    assert forward.start in forward.lot_codes and back.start in back.lot_codes
    assert all(len(code) <= 20 for code in forward.lot_codes | back.lot_codes)  # GS1 AI (10)


def test_wide_structures__same_events_whichever_sizes_are_asked() -> None:
    alone = bench_trace.wide_structures([100])
    among = [w for w in bench_trace.wide_structures([10, 100, 1000]) if w.answer == 100]
    assert json.dumps([w.events for w in alone]) == json.dumps([w.events for w in among])


def test_quick_run__writes_wide_answers_and_http_ratios(tmp_path: Path) -> None:
    out = tmp_path / "trace.json"
    argv = ["--quick", "--sizes", str(SIZE), "--samples", "8", "--answers", "10,100", "--repeats", "2",
            "--http-repeats", "1", "--cache", str(tmp_path / "cache"), "--json-out", str(out)]  # fmt: skip
    assert bench_trace.main(argv) == 0
    first = json.loads(out.read_text())
    result = first["results"][str(SIZE)]
    assert result["synthetic_events"] == SIZE
    assert result["wide_events"] == sum(len(w.events) for w in bench_trace.wide_structures([10, 100]))
    for direction in ("back", "forward"):
        for answer in ("10", "100"):
            wide = result["wide"][direction][answer]
            assert wide["lots"] == int(answer)
            assert {"p50_ms", "p95_ms", "max_ms", "full_gc_calls", "p95_ms_without_full_gc"} <= set(wide)
            over_http = result["http"]["wide"][direction][answer]
            assert over_http["max_lots"] == int(answer)
            assert over_http["mean_queries"] == int(answer)  # one EPCIS query per lot reached
            assert over_http["ratio_p50"] > 0
        assert result["http"]["sample"][direction]["ratio_p50"] > 0
        assert result[f"baseline_{direction}"]["in_process"] is True
    assert result["http"]["mismatches"] == 0
    assert {"gc_tracked_objects", "full_gc_ms"} <= set(result["process"])
    checks = first["checks"]
    assert checks["wide_lots"] == {"back": {"10": 10, "100": 100}, "forward": {"10": 10, "100": 100}}
    assert checks["hop_by_hop_mismatches"] == {"http": 0, "in_process": 0}
    assert set(checks["http_ratio_p50_at_largest"]["wide"]["back"]) == {"10", "100"}

    # again on the cached ledger: nothing is appended twice
    assert bench_trace.main(argv) == 0
    again = json.loads(out.read_text())["results"][str(SIZE)]
    assert again["events"] == result["events"]
