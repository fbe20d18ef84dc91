"""Fault injection switched on by configuration, identical for every HTTP emulator.

A plan is a list of rules; each request is offered to the rules in order and the first rule that
matches and still has "shots" left fires. Config shape (JSON/YAML, or the admin API)::

    {"faults": [
      {"kind": "status", "status": 429, "retry_after": 2, "path": "/api/v2/issues", "times": 1},
      {"kind": "status", "status": 503, "times": 3, "skip": 2},
      {"kind": "drop"}, {"kind": "slow", "delay": 1.5}, {"kind": "truncate", "keep": 0.5},
      {"kind": "invalid_utf8", "text_field": "title"}
    ]}

``path`` is a regular expression searched in the request path (default: every path); ``query``
likewise for the query string; ``skip`` lets that many matching requests through first; ``times``
is how often the rule fires (omit or null for every matching request).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["status", "drop", "slow", "truncate", "invalid_utf8"]
KINDS: tuple[str, ...] = ("status", "drop", "slow", "truncate", "invalid_utf8")


@dataclass
class FaultRule:
    """One fault: what to do, to which requests, how many times."""

    kind: FaultKind
    path: str | None = None
    query: str | None = None
    method: str | None = None
    skip: int = 0
    times: int | None = 1
    status: int = 503
    retry_after: float | None = None
    body: str | None = None
    delay: float = 1.0
    keep: float = 0.5
    truncate_mode: Literal["body", "connection"] = "body"
    text_field: str = "title"
    seen: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FaultRule:
        """Build a rule from config, rejecting unknown kinds and keys with a message naming them."""
        kind = raw.get("kind")
        if kind not in KINDS:
            msg = f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}"
            raise ValueError(msg)
        allowed = {f for f in cls.__dataclass_fields__ if f not in {"seen", "fired"}}
        unknown = set(raw) - allowed
        if unknown:
            msg = f"unknown fault setting(s) {sorted(unknown)} in rule {dict(raw)}"
            raise ValueError(msg)
        return cls(**raw)

    def matches(self, method: str, path: str, query: str) -> bool:
        """Whether this request is one the rule is aimed at (ignoring how often it has fired)."""
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path and not re.search(self.path, path):
            return False
        return not (self.query and not re.search(self.query, query))

    def take(self) -> bool:
        """Count a matching request and say whether the rule fires for it."""
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.fired += 1
        return True

    def as_dict(self) -> dict[str, Any]:
        """Config form plus counters, for the admin API."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class FaultPlan:
    """The active rules of one emulator; thread-safe because tests change it while a tap runs."""

    def __init__(self, rules: Iterable[FaultRule] = ()) -> None:
        self._rules = list(rules)
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | list[Any] | None) -> FaultPlan:
        """Accept ``{"faults": [...]}``, a bare list of rules, or nothing."""
        if not config:
            return cls()
        rules = config.get("faults", []) if isinstance(config, Mapping) else config
        return cls(FaultRule.from_dict(r) for r in rules)

    @property
    def rules(self) -> list[FaultRule]:
        """The active rules, in the order they are offered each request."""
        with self._lock:
            return list(self._rules)

    def replace(self, rules: Iterable[FaultRule]) -> None:
        """Swap in a new rule list (counters start from zero)."""
        with self._lock:
            self._rules = list(rules)

    def pick(self, method: str, path: str, query: str) -> FaultRule | None:
        """The rule that fires for this request, if any."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path, query) and rule.take():
                    return rule
        return None

    def as_list(self) -> list[dict[str, Any]]:
        """Rules with their counters."""
        with self._lock:
            return [r.as_dict() for r in self._rules]
