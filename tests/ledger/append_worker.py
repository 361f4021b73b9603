"""A separate process that appends to a ledger (used by the concurrency and crash tests).

Usage: python append_worker.py MODE URL KEY_FILE WORKER COUNT
MODE: ``single`` (COUNT single appends), ``hang-before-commit`` / ``hang-after-insert``
(one batch of COUNT entries that stops at that point, prints READY and waits to be killed).
"""

from __future__ import annotations

import sys
import time

from sqlalchemy import event

from tracefood.ledger import Ledger, NewEntry, Write


def main() -> None:
    mode, url, key_file, worker, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    ledger = Ledger.open(url, key_file=key_file)
    if mode == "single":
        for i in range(count):
            ledger.append({"worker": worker, "i": i}, entry_id=f"w{worker}-{i}")
        return

    def hang() -> None:
        print("READY", flush=True)
        time.sleep(120)

    if mode == "hang-before-commit":
        event.listen(ledger.engine, "commit", lambda conn: hang())
    elif mode != "hang-after-insert":
        raise SystemExit(f"unknown mode {mode}")
    items = [NewEntry({"worker": worker, "i": i}, entry_id=f"crash-{i}") for i in range(count)]

    def work(w: Write) -> None:
        w.append(items)
        if mode == "hang-after-insert":
            # inside the transaction once the entries and nodes are written (by INSERT or, for
            # large PostgreSQL batches, COPY, which SQLAlchemy's events never see)
            hang()

    ledger.write(work)


if __name__ == "__main__":
    main()
