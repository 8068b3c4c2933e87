#!/usr/bin/env bash
# Creates (once) and reuses one Python virtualenv per pinned MLflow version, for the compat tests,
# and two more for the cloud artifact tests, built only when named:
#
#   scripts/mlflow-env.sh            ensure every pinned version
#   scripts/mlflow-env.sh 2.22.5     ensure only the versions named
#   scripts/mlflow-env.sh cloud      MLflow with the S3, GCS and Azure clients its artifact stores use
#   scripts/mlflow-env.sh emulators  the S3 (moto's server mode) and GCS emulators
#   scripts/mlflow-env.sh azurite    Microsoft's Azure Storage emulator, from npm (not a venv)
#   scripts/mlflow-env.sh postgres   psycopg2-binary added to the newest MLflow venv, for servers on
#                                    PostgreSQL (the server itself is Debian's postgresql package)
#
# Venvs live in ${MLRUNS_TEST_CACHE:-$HOME/.cache/mlruns}/venvs/mlflow-<version> (mlflow-cloud,
# emulators). The cloud clients and the emulators get venvs of their own so that adding them
# never rebuilds the MLflow venvs, and so that moto's Flask pins never fight MLflow's. A venv counts as
# ready only when its marker file exists; the marker is written after a successful install and
# import check, so an interrupted install is thrown away and rebuilt on the next call.
# Silent when every venv is already ready. MLflow is a test dependency only.
set -euo pipefail

# Pins. 3.17.2 is the newest installable 3.x (3.18.0 needs mlflow-skinny==3.18.0, which is not on
# PyPI); 2.22.5 is the newest 2.x. 3.17.2 reads file stores when MLFLOW_ALLOW_FILE_STORE=true and
# ships `mlflow migrate-filestore`, so no separate reader version is needed.
PINNED_VERSIONS=(3.17.2 2.22.5)

# What each venv installs besides MLflow. The `auth` extra brings Flask-WTF for the basic-auth
# server app; MLflow 2.22.5's SQL store uses a name SQLAlchemy 2.1 removed.
requirements() {
  case "$1" in
    cloud) echo "mlflow[auth]==${PINNED_VERSIONS[0]} boto3==1.44.5 google-cloud-storage==3.17.1 azure-storage-blob==12.31.1 azure-identity==1.27.0" ;;
    emulators) echo "moto[server]==5.2.5 gcp-storage-emulator==2026.7.19" ;;
    2.*) echo "mlflow[auth]==$1 sqlalchemy<2.1" ;;
    *) echo "mlflow[auth]==$1" ;;
  esac
}

CACHE_ROOT="${MLRUNS_TEST_CACHE:-$HOME/.cache/mlruns}"
VENV_ROOT="$CACHE_ROOT/venvs"
MARKER=".mlruns-ready"
PYTHON="${MLRUNS_PYTHON:-python3}"

die() {
  echo "mlflow-env: $*" >&2
  exit 1
}

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  die "'$PYTHON' was not found on PATH. The compat tests need Python 3.10+ to install MLflow. Install python3 (with the venv module), or set MLRUNS_PYTHON, or set MLRUNS_SKIP_MLFLOW=1 to skip the compat tests."
fi
if ! "$PYTHON" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 10) else 1)' >/dev/null 2>&1; then
  die "'$PYTHON' is older than 3.10 or lacks the venv module ($("$PYTHON" --version 2>&1)). MLflow $(printf '%s ' "${PINNED_VERSIONS[@]}")needs Python 3.10+ with venv."
fi

# The import check of each venv: what its tests need must load.
check_imports() {
  case "$1" in
    cloud) echo "import sys, mlflow, boto3, google.cloud.storage, azure.storage.blob, azure.identity; sys.exit(0 if mlflow.__version__ == '${PINNED_VERSIONS[0]}' else 1)" ;;
    emulators) echo "import moto.server, gcp_storage_emulator" ;;
    *) echo "import sys, mlflow, pandas, flask_wtf; sys.exit(0 if mlflow.__version__ == '$1' else 1)" ;;
  esac
}

venv_name() {
  case "$1" in
    emulators) echo "emulators" ;;
    *) echo "mlflow-$1" ;;
  esac
}

versions=("$@")
if [ "${#versions[@]}" -eq 0 ]; then
  versions=("${PINNED_VERSIONS[@]}")
fi

ensure_version() {
  local version="$1"
  local dir
  dir="$VENV_ROOT/$(venv_name "$version")"
  local wanted
  wanted="$(requirements "$version")"
  # The marker records what was installed: a changed recipe rebuilds the venv.
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/$MARKER" 2>/dev/null)" = "$wanted" ]; then
    return 0
  fi
  echo "mlflow-env: creating $dir ($version); this takes a few minutes the first time" >&2
  rm -rf "$dir"
  mkdir -p "$VENV_ROOT"
  local log="$dir.install.log"
  if ! {
    "$PYTHON" -m venv "$dir" &&
      "$dir/bin/python" -m pip install --disable-pip-version-check --no-input -q --upgrade pip &&
      # shellcheck disable=SC2086 # the requirements are words on purpose
      "$dir/bin/python" -m pip install --disable-pip-version-check --no-input -q $wanted &&
      MLFLOW_DISABLE_TELEMETRY=true "$dir/bin/python" -c "$(check_imports "$version")"
  } >"$log" 2>&1; then
    tail -n 30 "$log" >&2 || true
    die "installing $version into $dir failed (full log: $log). The half-built venv will be rebuilt on the next run."
  fi
  printf '%s' "$wanted" >"$dir/$MARKER"
  rm -f "$log"
  echo "mlflow-env: $version ready" >&2
}

# Azurite is an npm package: installed once into its own prefix, with the same marker rule.
AZURITE_VERSION=3.37.0
ensure_azurite() {
  local dir="$CACHE_ROOT/azurite-$AZURITE_VERSION"
  if [ -x "$dir/node_modules/.bin/azurite-blob" ] && [ -f "$dir/$MARKER" ]; then
    return 0
  fi
  echo "mlflow-env: installing Azurite $AZURITE_VERSION into $dir" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  if ! npm install --prefix "$dir" --no-audit --no-fund --silent "azurite@$AZURITE_VERSION" >"$dir.install.log" 2>&1; then
    tail -n 30 "$dir.install.log" >&2 || true
    die "installing azurite@$AZURITE_VERSION into $dir failed (full log: $dir.install.log)."
  fi
  touch "$dir/$MARKER"
  rm -f "$dir.install.log"
}

# PostgreSQL's driver, added to the newest MLflow venv (made first when missing) with a marker of
# its own, so that the MLflow venv is never rebuilt for it.
PSYCOPG2="psycopg2-binary==2.9.13"
ensure_postgres() {
  ensure_version "${PINNED_VERSIONS[0]}"
  local dir="$VENV_ROOT/mlflow-${PINNED_VERSIONS[0]}"
  if [ "$(cat "$dir/.mlruns-postgres-ready" 2>/dev/null)" = "$PSYCOPG2" ]; then
    return 0
  fi
  echo "mlflow-env: adding $PSYCOPG2 to $dir" >&2
  if ! "$dir/bin/python" -m pip install --disable-pip-version-check --no-input -q "$PSYCOPG2" \
    >"$dir.postgres.log" 2>&1 || ! "$dir/bin/python" -c "import psycopg2" >>"$dir.postgres.log" 2>&1; then
    tail -n 30 "$dir.postgres.log" >&2 || true
    die "installing $PSYCOPG2 into $dir failed (full log: $dir.postgres.log)."
  fi
  printf '%s' "$PSYCOPG2" >"$dir/.mlruns-postgres-ready"
  rm -f "$dir.postgres.log"
}

for v in "${versions[@]}"; do
  case "$v" in
    azurite) ensure_azurite ;;
    postgres) ensure_postgres ;;
    *) ensure_version "$v" ;;
  esac
done
