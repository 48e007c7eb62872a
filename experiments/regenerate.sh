#!/usr/bin/env bash
# Regenerate reports/<name>/ from experiments/<name>.toml for every experiment (a few minutes).
# Usage: bash experiments/regenerate.sh [--reports-only] [NAME ...]
#   --reports-only  rebuild plots/, report.md and report.html from the committed CSVs alone
#                   (`gradscope report`), without re-running the sweeps
set -euo pipefail
cd "$(dirname "$0")/.."
reports_only=0
if [ "${1:-}" = "--reports-only" ]; then reports_only=1; shift; fi
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in experiments/*.toml; do names+=("$(basename "$f" .toml)"); done
fi
if [ $# -eq 0 ] && [ $reports_only -eq 0 ]; then  # the Jacobian study is not a sweep
  rm -rf reports/spectrum
  gradscope spectrum --activation tanh --out reports/spectrum > /dev/null
  echo "spectrum     done"
fi
for name in "${names[@]}"; do
  start=$(date +%s.%N)
  if [ $reports_only -eq 1 ]; then
    gradscope report "reports/$name" > /dev/null
  else
    rm -rf "reports/$name"
    gradscope sweep "experiments/$name.toml" --out "reports/$name" --quiet
  fi
  printf '%-12s %6.1f s\n' "$name" "$(echo "$(date +%s.%N) - $start" | bc)"
done
