#!/usr/bin/env bash
# Regenerate reports/<name>/ from experiments/<name>.toml for every experiment (about 2 minutes).
# Usage: bash experiments/regenerate.sh [NAME ...]
set -euo pipefail
cd "$(dirname "$0")/.."
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in experiments/*.toml; do names+=("$(basename "$f" .toml)"); done
fi
if [ $# -eq 0 ]; then  # the Jacobian-spectrum study (dynamical isometry) is not a sweep
  rm -rf reports/spectrum
  gradscope spectrum --activation tanh --out reports/spectrum > /dev/null
  echo "spectrum     done"
fi
for name in "${names[@]}"; do
  rm -rf "reports/$name"
  start=$(date +%s.%N)
  gradscope sweep "experiments/$name.toml" --out "reports/$name" --quiet
  printf '%-12s %6.1f s\n' "$name" "$(echo "$(date +%s.%N) - $start" | bc)"
done
