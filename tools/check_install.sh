#!/usr/bin/env bash
# Prove that a NON-editable install works on its own: `pip install SOURCE` into a fresh venv,
# then, from an empty folder (so the source tree cannot be imported by accident) and a fresh
# TRACEFOOD_HOME, run the commands a new user runs first and check what they print. The test
# suite uses an editable install, which finds every module in the tree; only this check sees a
# module, template or data file that setup.cfg forgot and the wheel therefore left out.
#
# Usage: tools/check_install.sh [SOURCE]   (default: the checkout holding this script)
# Called by .ci/run on its fresh clone; runnable by hand on any checkout. Needs no database
# server (the demo uses SQLite in TRACEFOOD_HOME) and no network beyond the package index.
set -euo pipefail

# The demo's active salad-mix lot (tracefood/demo/scenario.py: salad-mix-case, SR-0815-A).
LOT="https://id.gs1.org/01/17541004000141/10/SR-0815-A"

src="$(cd "${1:-$(dirname "$0")/..}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
venv="$work/venv"
py="$venv/bin/python"
tf="$venv/bin/tracefood"
run_dir="$work/empty"

fail() {
    echo "check_install: FAIL: $*" >&2
    exit 1
}

# step NAME CMD...: run CMD from the empty folder, stdout to $work/NAME.out; on failure show
# both streams and stop.
step() {
    local name="$1"
    shift
    if ! (cd "$run_dir" && "$@") >"$work/$name.out" 2>"$work/$name.err"; then
        cat "$work/$name.out" "$work/$name.err" >&2
        fail "$name exited non-zero: $*"
    fi
}

# expect_json NAME EXPR: EXPR (Python) must hold over d, the JSON that step NAME printed;
# out(name) reads another step's output.
expect_json() {
    "$py" - "$work" "$1" "$2" <<'PY' || fail "$1: expected $2; got: $(head -c 2000 "$work/$1.out")"
import json, sys
work, name, expr = sys.argv[1:]
def out(step):
    with open(f"{work}/{step}.out", encoding="utf-8") as f:
        return f.read()
sys.exit(0 if eval(expr, {"d": json.loads(out(name)), "out": out}) else 1)  # our own fixed checks
PY
    echo "ok  $1"
}

# expect_text NAME REGEX: step NAME's output has a line matching REGEX (grep -E).
expect_text() {
    grep -Eq -- "$2" "$work/$1.out" || fail "$1: no line matching '$2' in: $(head -c 2000 "$work/$1.out")"
    echo "ok  $1"
}

if [ ! -f "$src/setup.cfg" ] || [ ! -d "$src/tracefood" ]; then
    fail "$src is not a TraceFood source folder"
fi

# Build from a pristine copy: setuptools reuses a build/ folder left in the source, whose stale
# files could hide a module the package list no longer ships.
mkdir "$work/src" "$run_dir"
tar -C "$src" --exclude=./.git --exclude=./.venv --exclude=./build --exclude=./dist \
    --exclude='*.egg-info' --exclude=__pycache__ -cf - . | tar -C "$work/src" -xf -

# Nothing from the caller's environment may steer the check (a CI venv, a database URL, ...).
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(TRACEFOOD_|PYTHON)' || true)
unset VIRTUAL_ENV
export TRACEFOOD_HOME="$work/home"

start=$SECONDS
python3 -m venv "$venv"
step install "$py" -m pip install -q "$work/src"
echo "ok  install ($((SECONDS - start)) s): pip install $src (not editable)"

# The import comes from the venv, not from a source tree.
step where "$py" -c 'import json, tracefood; print(json.dumps({"file": tracefood.__file__}))'
expect_json where "d['file'].startswith('$venv/') and '/site-packages/tracefood/' in d['file']"

# Every file of the package (and the migrations, shipped as tracefood._migrations) is installed.
step files "$py" - "$src" <<'PY'
import json, sys
from pathlib import Path
import tracefood
def files(root):
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
src = Path(sys.argv[1])
wanted = files(src / "tracefood") | {"_migrations/" + name for name in files(src / "migrations")}
print(json.dumps({"wanted": len(wanted), "missing": sorted(wanted - files(Path(tracefood.__file__).parent))}))
PY
expect_json files "d['wanted'] > 50 and d['missing'] == []"

step demo "$tf" demo --no-serve
expect_text demo '^demo: [1-9][0-9]* events recorded, 0 already present'

step verify "$tf" verify --json
expect_json verify "d['ok'] is True and d['size'] > 0 and d['findings'] == []"

step trace "$tf" trace "$LOT" --direction back --json
expect_json trace "d['start']['lot'] == 'SR-0815-A' and len(d['lots']) > 1 and d['events']"

# A PNG label, then verified from the image: signing, QR rendering and decoding all ship.
step label-issue "$tf" label issue "$LOT" -o "$work/label.png"
expect_text label-issue '/01/17541004000141/10/SR-0815-A#1\.'
step label-verify "$tf" label verify "$work/label.png" --json
expect_json label-verify "d['genuine'] is True and d['subject']['lot'] == 'SR-0815-A' \
and d['label']['url'] == out('label-issue').strip()"

echo "check_install: ok in $((SECONDS - start)) s ($src)"
