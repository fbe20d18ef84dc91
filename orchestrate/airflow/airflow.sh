#!/usr/bin/env bash
# `airflow` for this project: its own venv (.venv-airflow, `make airflow-setup`), the DAG factory in
# orchestrate/airflow/dags, no example DAGs, and Sentry switched on exactly when SENTRY_DSN is set
# (Airflow's own integration reads SENTRY_DSN once [sentry] sentry_on is true). Every AIRFLOW__* variable
# set by the caller wins, so production overrides the local defaults (executor, metadata DB, parallelism).
# Usage: orchestrate/airflow/airflow.sh standalone | scheduler | dags list --local | dags unpause <dag> | ...
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$root/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="${AIRFLOW__CORE__DAGS_FOLDER:-$here/dags}"
export AIRFLOW__CORE__LOAD_EXAMPLES="${AIRFLOW__CORE__LOAD_EXAMPLES:-False}"
# LocalExecutor starts one worker per parallelism slot (32 by default): keep a small box small.
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-2}"
if [ -n "${SENTRY_DSN:-}" ]; then
  export AIRFLOW__SENTRY__SENTRY_ON="${AIRFLOW__SENTRY__SENTRY_ON:-True}"
else
  export AIRFLOW__SENTRY__SENTRY_ON="${AIRFLOW__SENTRY__SENTRY_ON:-False}"
fi
export MELTANO_PROJECT_ROOT="${MELTANO_PROJECT_ROOT:-$root}"
venv="${AIRFLOW_VENV:-$root/.venv-airflow}"
export PATH="$venv/bin:$PATH"  # `standalone` starts its components as `airflow <component>`
# A fresh AIRFLOW_HOME (new checkout, new worker) has no metadata database, and every command except `db ...` and
# `standalone` (which migrates by itself) stops with "Database migration required". Migrate once per Airflow lock
# and database, remembered by a stamp holding only a hash (the connection string may carry a password).
case "${1:-}" in
  db | standalone | version | info | config | cheat-sheet | -h | --help | "") ;;
  *)
    default_db="$AIRFLOW_HOME/airflow.db"
    target="$(sha1sum "$here/requirements.lock" | cut -d' ' -f1) ${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-sqlite:$default_db}"
    want="$(printf '%s' "$target" | sha1sum | cut -d' ' -f1)"
    stamp="$AIRFLOW_HOME/.db-migrated"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] ||
      { [ -z "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" ] && [ ! -f "$default_db" ]; }; then
      mkdir -p "$AIRFLOW_HOME"
      echo "airflow.sh: migrating the Airflow metadata database first (airflow db migrate)" >&2
      if ! "$venv/bin/airflow" db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1; then
        echo "airflow.sh: airflow db migrate failed: $(tail -n 1 "$AIRFLOW_HOME/db-migrate.log")" >&2
        exit 1
      fi
      printf '%s\n' "$want" >"$stamp"
    fi
    ;;
esac
exec "$venv/bin/airflow" "$@"
