"""Serving the app: waitress, in one process or several sharing one listening socket.

Python runs one thread at a time per process, so a single process uses one core for the CPU
part of a request (JSON, validation, event hashing). ``workers > 1`` forks that many processes
after binding the socket once; each builds its own app (database pools are never shared across
a fork) and serves with waitress. Appends stay serialised by the ledger's write lock (SQLite
``BEGIN IMMEDIATE``, PostgreSQL advisory lock), so workers are safe on both engines.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

import waitress  # type: ignore[import-untyped]

from tracefood.web.api.events import MAX_BODY

LIMITS: dict[str, Any] = {"max_request_body_size": MAX_BODY + 64 * 1024}
"""waitress refuses (413) a body above this before buffering it; the app's own bound is MAX_BODY."""


def settled(app: Any) -> Any:
    """Move what start-up built (modules, the app, its pools and caches) out of the garbage
    collector's reach: a full collection then walks only what requests create. Without it, a
    trace of 1,000 lots paid 25-45 ms for one collection about one call in ten (p95 78.6 ms
    against 36 ms; ``tools/bench_trace.py``)."""
    gc.collect()
    gc.freeze()
    return app


def _worker(make_app: Callable[[], Any], sock: socket.socket, threads: int) -> int:
    """Serve in a forked worker; its exit status (the parent stops every worker if one ends).

    A worker never returns into the parent's code (``os._exit`` follows): what stops it is
    said in one line on stderr, since no traceback would reach anyone."""
    try:
        waitress.serve(settled(make_app()), sockets=[sock], threads=threads, ident="tracefood", **LIMITS)
    except KeyboardInterrupt:
        return 0
    except BaseException as exc:  # any failure: say it, then exit
        print(f"error: worker {os.getpid()}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


def serve(make_app: Callable[[], Any], host: str, port: int, *, threads: int = 8, workers: int = 1) -> None:
    if workers <= 1:
        waitress.serve(settled(make_app()), host=host, port=port, threads=threads, ident="tracefood", **LIMITS)
        return
    if not hasattr(os, "fork"):
        raise OSError("--workers above 1 needs a POSIX system (fork)")
    sock = socket.create_server((host, port), reuse_port=False, backlog=1024)
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os._exit(_worker(make_app, sock, threads))
        children.append(pid)
    sock.close()

    def stop(*_: object) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def stop_and_exit(*_: object) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop_and_exit)
    try:
        # If one worker dies, stop the others: a half-capacity server that looks healthy is
        # worse than a restart by the supervisor.
        pid, status = os.wait()
        children.remove(pid)
        stop()
        for other in children:
            os.waitpid(other, 0)
        sys.exit(f"worker {pid} exited with status {status}")
    except KeyboardInterrupt:
        stop()
