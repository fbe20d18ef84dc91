"""Settings that need more than JSON Schema: auth pairs, a pasted URL as subdomain, start_date sanity.

Each problem is reported as one sentence naming the setting, so the CLI can print one clear line
before any request is made (and before any secret could end up in a log).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

DEFAULT_MAX_RETRY_SECONDS = 600.0
DEFAULT_REQUEST_TIMEOUT = 300
#: singer-io waits 60 s on a 429 without Retry-After; Zendesk's limits are per minute.
DEFAULT_RATE_LIMIT_WAIT = 60.0
_SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_VENDOR_HOST = re.compile(r"^(?P<sub>[a-z0-9][a-z0-9-]*)\.zendesk\.com$")


def parse_datetime(value: str) -> datetime:
    """ISO-8601 → aware datetime (naive values are UTC, as Zendesk's are)."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def subdomain(config: Mapping[str, Any]) -> str:
    """Return the account name, also when a URL like ``https://acme.zendesk.com/agent`` was pasted."""
    raw = str(config.get("subdomain") or "").strip().lower()
    if "/" in raw or "." in raw:
        host = urlsplit(raw if "://" in raw else f"https://{raw}").hostname or ""
        match = _VENDOR_HOST.match(host)
        if match:
            return match["sub"]
    return raw


def api_url(config: Mapping[str, Any]) -> str:
    """``api_url`` if set, else Zendesk's own ``https://{subdomain}.zendesk.com/api/v2``."""
    explicit = str(config.get("api_url") or "").strip()
    if explicit:
        return explicit.rstrip("/")
    return f"https://{subdomain(config)}.zendesk.com/api/v2"


def problems(config: Mapping[str, Any], now: datetime | None = None) -> list[str]:
    """Everything wrong with ``config``, one sentence per setting; empty when it is usable."""
    found = []
    if not config.get("access_token") and not (config.get("email") and config.get("api_token")):
        if config.get("api_token"):
            found.append("'email' is required with 'api_token' (Zendesk API-token auth sends '{email}/token')")
        else:
            found.append(
                "no credentials: set 'email' + 'api_token' (API token) or 'access_token' (OAuth); "
                "both 'api_token' and 'access_token' are missing"
            )
    found += _endpoint_problems(config)
    found += _start_date_problems(config.get("start_date"), now or datetime.now(UTC))
    return found


def _endpoint_problems(config: Mapping[str, Any]) -> list[str]:
    explicit = str(config.get("api_url") or "").strip()
    if explicit:
        if urlsplit(explicit).scheme not in {"http", "https"} or not urlsplit(explicit).hostname:
            return [f"'api_url' must be an http(s) URL such as https://acme.zendesk.com/api/v2, got {explicit!r}"]
        return []
    raw = str(config.get("subdomain") or "").strip()
    if not raw:
        return ["'subdomain' is required (the 'acme' of https://acme.zendesk.com), unless 'api_url' is set"]
    if not _SUBDOMAIN.match(subdomain(config)):
        return [
            f"'subdomain' must be the account name, e.g. 'acme' for https://acme.zendesk.com, got {raw!r}; "
            "for a host that is not <name>.zendesk.com set 'api_url' to its API root instead"
        ]
    return []


def _start_date_problems(value: Any, now: datetime) -> list[str]:
    if value is None:
        return []  # the JSON Schema already reports a missing required start_date
    try:
        moment = parse_datetime(str(value))
    except ValueError:
        return [f"'start_date' {value!r} is not an ISO-8601 date-time such as 2024-01-01T00:00:00Z"]
    if moment > now:
        return [f"'start_date' {value} is in the future; Zendesk exports only what changed before now"]
    return []
