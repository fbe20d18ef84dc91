"""The run report as a person sees it: rendered by the real CLI, opened in headless Chromium (issue 15 §3).

A demo-like warehouse (this project's schedules and landing schemas, a few tables per source) with one stale
source, one volume jump and one failed run. Chromium is driven over its DevTools protocol, so what is
checked is what is on screen: computed colours, visible text, and every request the page made.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import duckdb
import pytest

from tests.harness import PROJECT_ROOT
from utilities.checks.warehouse import Warehouse

CHROMIUM = "/usr/bin/chromium"
ARTEFACTS = PROJECT_ROOT / "output" / "test-artefacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    "--window-size=1280,1600",
]
#: Tables per landing schema and their rows now (names as the taps land them).
TABLES = {
    "TAP_ZENGRC": {"people": 450, "risks": 40},
    "TAP_ADAPTIVE": {"export_accounts": 30},
    "TAP_XACTLY": {"xc_participant": 25},
    "TAP_ZENDESK": {"tickets": 200, "users": 60},
    "TAP_ZENDESK_COMMUNITY_RELATIONS": {"tickets": 80},
}
JOBS = {
    "TAP_ZENGRC": "zengrc-to-warehouse",
    "TAP_ADAPTIVE": "adaptive-to-warehouse",
    "TAP_XACTLY": "xactly-to-warehouse",
    "TAP_ZENDESK": "zendesk-to-warehouse",
    "TAP_ZENDESK_COMMUNITY_RELATIONS": "zendesk-community-relations-to-warehouse",
}
#: What a failed `meltano run` prints (colour off): the plugin's one line, then Meltano's generic wrap-up.
FAILED_RUN_LOG = (
    "2026-11-30T14:03:59.687329Z [info     ] meltano      Running job with name "
    "'dev:tap-zendesk--community-relations-to-target-warehouse'\n"
    "2026-11-30T14:04:12.049461Z [info     ] tap-zendesk--community-relations ERROR tap-zendesk: error: Zendesk "
    "rejected the credentials (HTTP 401 at http://127.0.0.1:8713/api/v2/users): check `email` and `api_token`\n"
    "2026-11-30T14:04:13.768215Z [error    ] meltano      Extractor failed\n"
    "2026-11-30T14:04:13.768578Z [error    ] meltano      Block run completed\n"
)
ERROR_LINE = (
    "tap-zendesk: error: Zendesk rejected the credentials (HTTP 401 at http://127.0.0.1:8713/api/v2/users): "
    "check `email` and `api_token`"
)


def checks(warehouse_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "utilities.checks", "--warehouse", f"duckdb://{warehouse_file}", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The warehouse and the report of a demo-like history, rendered by ``python -m utilities.checks report``."""
    folder = tmp_path_factory.mktemp("report")
    warehouse_file = folder / "warehouse.duckdb"
    with duckdb.connect(str(warehouse_file)) as con:
        for schema, tables in TABLES.items():
            con.execute(f'CREATE SCHEMA "{schema}"')
            for table, rows in tables.items():
                con.execute(f'CREATE TABLE "{schema}"."{table}" AS SELECT range AS id FROM range({rows})')
    now = datetime.now(UTC)
    history = Warehouse.connect(f"duckdb://{warehouse_file}")
    try:
        # Nine days of daily runs before today's: ZenGRC's people held 100 rows until today (x4.5 today).
        for days in range(9, 0, -1):
            at = now - timedelta(days=days)
            for schema, tables in TABLES.items():
                if schema == "TAP_ADAPTIVE" and days < 3:
                    continue  # Adaptive's export stalled three days ago: no successful run since.
                counts = {(schema, t.upper()): (100 if t == "people" else rows) for t, rows in tables.items()}
                history.record(JOBS[schema], counts, at=at)
                history.record_run(JOBS[schema], succeeded=True, at=at)
    finally:
        history.close()
    for schema, job in JOBS.items():
        if schema != "TAP_ADAPTIVE":
            checks(warehouse_file, "record", "--job", job)  # today's runs, counted in the warehouse itself
    log = folder / "community.log"
    log.write_text(FAILED_RUN_LOG)
    checks(warehouse_file, "record", "--job", JOBS["TAP_ZENDESK_COMMUNITY_RELATIONS"], "--failed", "--log", str(log))
    report = folder / "run-report.html"
    done = checks(warehouse_file, "report", "--output", str(report))
    assert done.stdout.strip() == f"run report: {report.as_uri()} (5 sources, 1 stale)"
    return warehouse_file, report


@pytest.fixture(scope="module")
def seen(rendered: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What Chromium shows of the report: colours, texts, every request it made, and a screenshot."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/ensure-system-deps.sh installs it)")
    _, report = rendered
    profile = tmp_path_factory.mktemp("chromium-profile")
    with _chromium(profile) as port:
        page = asyncio.run(_look_at(port, report.as_uri()))
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / "run-report.png").write_bytes(page.pop("screenshot"))
    return page


@pytest.fixture
def warehouse_counts(rendered: tuple[Path, Path]) -> dict[str, int]:
    warehouse_file, _ = rendered
    with duckdb.connect(str(warehouse_file), read_only=True) as con:
        return {
            f"{schema.upper()}.{table.upper()}": con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
            for schema, tables in TABLES.items()
            for table in tables
        }


RED = "rgb(207, 34, 46)"
GREEN = "rgb(26, 127, 55)"


def test_the_stale_source_is_shown_red_and_only_it(seen) -> None:
    badges = {source["name"]: source["badge"] for source in seen["sources"]}
    assert badges["adaptive-daily"] == {"text": "stale", "background": RED, "visible": True}
    fresh = {name: badge for name, badge in badges.items() if name != "adaptive-daily"}
    assert len(fresh) == 4
    assert all(badge == {"text": "fresh", "background": GREEN, "visible": True} for badge in fresh.values()), fresh


def test_the_volume_jump_is_highlighted_with_its_ratio(seen) -> None:
    jumps = [row for row in seen["rows"] if row["highlighted"]]
    assert [row["table"] for row in jumps] == ["TAP_ZENGRC.PEOPLE"]
    (jump,) = jumps
    assert jump["move"].startswith("\u00d74.50 (100 on ")
    assert jump["moveColor"] == RED
    assert jump["lastBarColor"] == RED
    calm = [row for row in seen["rows"] if not row["highlighted"]]
    assert calm
    assert all(row["background"] == "rgba(0, 0, 0, 0)" for row in calm)


def test_row_counts_on_screen_equal_the_warehouse(seen, warehouse_counts) -> None:
    shown = {row["table"]: int(row["rows"].replace(",", "")) for row in seen["rows"]}
    assert shown == warehouse_counts


def test_the_failed_runs_last_error_line_is_on_screen(seen) -> None:
    errors = {source["name"]: source["error"] for source in seen["sources"] if source["error"]}
    assert errors == {"zendesk-community-relations-daily": f"Last run failed: {ERROR_LINE}"}


def test_the_page_loads_nothing_but_itself(seen, rendered) -> None:
    _, report = rendered
    assert seen["requests"] == [report.as_uri()]
    html = report.read_text()
    assert "<script" not in html
    assert "http://" not in html.replace("http://127.0.0.1:8713/api/v2/users", "")  # only the error line's URL
    assert "https://" not in html


def test_a_screenshot_is_kept_as_a_test_artefact(seen) -> None:
    screenshot = ARTEFACTS / "run-report.png"
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert screenshot.stat().st_size > 10_000


@contextmanager
def _chromium(profile: Path) -> Iterator[int]:
    """Start headless Chromium on a fresh profile; yield its DevTools port; stop it."""
    env = {**os.environ, "HOME": str(profile)}
    proc = subprocess.Popen(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (active.exists() and active.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chromium did not start (exit {proc.poll()})")
            time.sleep(0.1)
        yield int(active.read_text().split()[0])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


#: Runs in the page: what a person sees of each source and each table row.
LOOK = """
(() => {
  const style = (el) => el ? getComputedStyle(el) : null;
  const visible = (el) => !!el && el.getBoundingClientRect().height > 0 && style(el).visibility !== "hidden";
  const sources = [...document.querySelectorAll("section.source")].map((s) => {
    const badge = s.querySelector("header .badge");
    const error = s.querySelector(".error");
    return {
      name: s.dataset.source,
      badge: {text: badge.innerText.trim(), background: style(badge).backgroundColor, visible: visible(badge)},
      error: visible(error) ? error.innerText.trim() : null,
    };
  });
  const rows = [...document.querySelectorAll("tr[data-table]")].map((r) => {
    const bars = r.querySelectorAll("svg.chart rect");
    const move = r.querySelector("td.move");
    const background = style(r.querySelector("td")).backgroundColor;
    return {
      table: r.dataset.table,
      rows: r.querySelector("td.rows").innerText.trim(),
      background: background,
      highlighted: background !== "rgba(0, 0, 0, 0)",
      move: move.innerText.trim(),
      moveColor: style(move).color,
      lastBarColor: bars.length ? style(bars[bars.length - 1]).fill : null,
    };
  });
  return JSON.stringify({sources, rows});
})()
"""


async def _look_at(port: int, url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        page = next(t for t in targets if t["type"] == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            ids = iter(range(1, 1_000_000))
            requests: list[str] = []
            events: list[dict[str, Any]] = []

            async def call(method: str, **params: Any) -> dict[str, Any]:
                number = next(ids)
                await ws.send_json({"id": number, "method": method, "params": params})
                while True:
                    message = json.loads((await ws.receive(timeout=60)).data)
                    if message.get("id") == number:
                        if "error" in message:
                            raise AssertionError(f"{method}: {message['error']}")
                        return dict(message.get("result", {}))
                    events.append(message)

            await call("Network.enable")
            await call("Page.enable")
            await call("Page.navigate", url=url)
            while not any(e.get("method") == "Page.loadEventFired" for e in events):
                events.append(json.loads((await ws.receive(timeout=60)).data))
            requests = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
            result = await call("Runtime.evaluate", expression=LOOK, returnByValue=True)
            seen: dict[str, Any] = json.loads(result["result"]["value"])
            shot = await call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            seen["screenshot"] = base64.b64decode(shot["data"])
            seen["requests"] = requests
            return seen
