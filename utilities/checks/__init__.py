"""Freshness and volume checks for what the Meltano pipelines land (see checks/README.md).

`python -m checks record --job <job>` snapshots row counts of the job's landing schemas after a run;
`python -m checks freshness` reports tables whose last load is older than their schedule allows or whose
row count moved more than a configured ratio week on week, and exits non-zero so the orchestrator alerts.
"""
