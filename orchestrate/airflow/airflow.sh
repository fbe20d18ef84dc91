#!/usr/bin/env bash
# `airflow` for this project: its own venv (.venv-airflow, `make airflow-setup`), the DAG factory in
# orchestrate/airflow/dags, no example DAGs, and Sentry switched on exactly when SENTRY_DSN is set
# (Airflow's own integration reads SENTRY_DSN once [sentry] sentry_on is true). Every AIRFLOW__* variable
# set by the caller wins, so production overrides the local defaults (executor, metadata DB, parallelism).
# Usage: orchestrate/airflow/airflow.sh standalone | scheduler | dags list --local | ...
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
exec "$venv/bin/airflow" "$@"
