#!/usr/bin/env bash
# Regenerates fixtures/mlflow-<version>/mlruns with the real MLflow of each pinned version.
#
#   scripts/generate-fixtures.sh              every pinned version
#   scripts/generate-fixtures.sh 2.22.5       only the versions named
#
# The trees get new ids and timestamps each time; commit them together with any test changes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
versions=("$@")
if [ "${#versions[@]}" -eq 0 ]; then
  versions=(3.17.2 2.22.5)
fi
"$here/mlflow-env.sh" "${versions[@]}"
venvs="${MLRUNS_TEST_CACHE:-$HOME/.cache/mlruns}/venvs"
for v in "${versions[@]}"; do
  (
    cd "$repo/fixtures"
    MLFLOW_ALLOW_FILE_STORE=true MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true \
      GIT_PYTHON_REFRESH=quiet PYTHONWARNINGS=ignore \
      "$venvs/mlflow-$v/bin/python" generate.py "mlflow-$v/mlruns" 2> >(grep -v -e '^\s*$' -e color_warning -e UserWarning -e 'WARNING mlflow' >&2 || true)
  )
done
