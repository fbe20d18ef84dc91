"""What the checks need from the Meltano project: schedules, jobs and each extractor's landing schema.

Read straight from meltano.yml and its include_paths (cheap, no `meltano` subprocess) because the checks
run after every job. Only the keys used here are interpreted; Meltano itself stays the authority on the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ProjectError(Exception):
    """The Meltano project does not define what a check was asked about."""


@dataclass(frozen=True)
class Schedule:
    """A job schedule and the landing schemas its job fills."""

    name: str
    cron: str
    job: str
    schemas: tuple[str, ...]


@dataclass(frozen=True)
class MeltanoProject:
    """Extractor landing schemas, job tasks and schedules of one Meltano project."""

    root: Path
    load_schemas: dict[str, str]
    jobs: dict[str, list[str]]
    raw_schedules: list[dict[str, Any]]

    @classmethod
    def load(cls, root: Path) -> MeltanoProject:
        """Merge meltano.yml with the files its ``include_paths`` globs name, as Meltano does."""
        main = _read_yaml(root / "meltano.yml")
        documents = [main]
        for pattern in main.get("include_paths", []):
            documents += [_read_yaml(path) for path in sorted(root.glob(pattern.removeprefix("./")))]
        extractors = [e for doc in documents for e in doc.get("plugins", {}).get("extractors", [])]
        jobs = {job["name"]: _task_list(job["tasks"]) for doc in documents for job in doc.get("jobs", [])}
        schedules = [s for doc in documents for s in doc.get("schedules", [])]
        return cls(root, _load_schemas(extractors), jobs, schedules)

    def job_schemas(self, job: str) -> tuple[str, ...]:
        """Landing schemas of the extractors a job runs, in task order."""
        if job not in self.jobs:
            msg = f"job {job!r} is not defined in {self.root / 'meltano.yml'} or its include_paths"
            raise ProjectError(msg)
        blocks = [block for task in self.jobs[job] for block in task.split()]
        return tuple(dict.fromkeys(self.load_schemas[b] for b in blocks if b in self.load_schemas))

    def schedules(self) -> list[Schedule]:
        """Job schedules whose job loads data (utility-only jobs, e.g. the checks themselves, are skipped)."""
        found = []
        for raw in self.raw_schedules:
            if "job" not in raw:
                msg = f"schedule {raw.get('name')!r} has no job; only job schedules are supported"
                raise ProjectError(msg)
            schemas = self.job_schemas(raw["job"])
            if schemas:
                found.append(Schedule(raw["name"], str(raw["interval"]), raw["job"], schemas))
        return found


def _read_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        msg = f"{path} is not a YAML mapping"
        raise ProjectError(msg)
    return data


def _task_list(tasks: str | list[str]) -> list[str]:
    return [tasks] if isinstance(tasks, str) else [str(t) for t in tasks]


def _load_schemas(extractors: list[dict[str, Any]]) -> dict[str, str]:
    """Resolve each extractor's ``load_schema``: its own, its parent's, else Meltano's default (namespace)."""
    by_name = {e["name"]: e for e in extractors}

    def schema(name: str, seen: frozenset[str] = frozenset()) -> str:
        plugin = by_name[name]
        if "load_schema" in plugin:
            return str(plugin["load_schema"])
        parent = plugin.get("inherit_from")
        if isinstance(parent, str) and parent in by_name and parent not in seen:
            return schema(parent, seen | {name})
        return str(plugin.get("namespace") or name.replace("-", "_"))

    return {name: schema(name) for name in by_name}
