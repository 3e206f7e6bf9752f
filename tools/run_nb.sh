#!/usr/bin/env bash
# Execute notebooks with nbdev's own runner (cells flagged `slow`/`notest` are skipped), store their outputs,
# then clean them and export the library. Usage: tools/run_nb.sh nbs/00_data.ipynb [more notebooks...]
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/nbdev-export
for nb in "$@"; do .venv/bin/nbdev-test "$nb" --save --do-print; done
.venv/bin/nbdev-clean
.venv/bin/nbdev-export
