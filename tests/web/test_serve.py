"""`tracefood serve` as an operator runs it: a real process, a real socket, real HTTP."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import Database
from tracefood.demo.data import scenario
from tracefood.ledger import merkle
from tracefood.ledger.note import Verifier, open_checkpoint


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (localhost test server)
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get_content_type(), exc.read()


DEMO_EVENTS = len(scenario())


def test_serve__answers_over_http(database: Database, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEFOOD_")}
    env |= {"TRACEFOOD_HOME": str(tmp_path), "TRACEFOOD_DATABASE_URL": database.url}
    cli = [sys.executable, "-m", "tracefood"]
    subprocess.run([*cli, "demo", "--no-serve"], env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                status, _, _ = get(base + "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200
        _, kind, key = get(base + "/api/v1/ledger/key")
        _, _, note = get(base + "/api/v1/ledger/checkpoint")
        checkpoint = open_checkpoint(note.decode(), Verifier.parse(key.decode()))
        assert kind == "text/plain" and checkpoint.size == DEMO_EVENTS
        status, kind, body = get(base + f"/api/v1/ledger/proofs/inclusion?index=3&size={DEMO_EVENTS}")
        assert status == 200 and kind == "application/json"
        proof = json.loads(body)
        merkle.verify_inclusion(
            3,
            DEMO_EVENTS,
            base64.b64decode(proof["leaf_hash"]),
            [base64.b64decode(p) for p in proof["proof"]],
            checkpoint.root,
        )
        status, kind, body = get(base + f"/api/v1/ledger/proofs/inclusion?index={DEMO_EVENTS + 1}&size={DEMO_EVENTS}")
        assert status == 400 and kind == "application/problem+json" and b'"field": "index"' in body
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert b"Traceback" not in err
