"""Two Zendesk accounts through Meltano: own credentials, own schema, own data, and the right schedules."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e
MAIN, COMMUNITY = "tap-zendesk", "tap-zendesk--community-relations"
SCHEMAS = {MAIN: "TAP_ZENDESK", COMMUNITY: "TAP_ZENDESK_COMMUNITY_RELATIONS"}
JOBS = {MAIN: "zendesk-to-warehouse", COMMUNITY: "zendesk-community-relations-to-warehouse"}
PROD_ENV = {
    "TAP_ZENDESK_EMAIL": "ops@main.example.com",
    "TAP_ZENDESK_API_TOKEN": "main-token-from-k8s",
    "TAP_ZENDESK_SUBDOMAIN": "acme",
    "TAP_ZENDESK_START_DATE": "2021-01-01T00:00:00Z",
    "TAP_ZENDESK_COMMUNITY_RELATIONS_EMAIL": "ops@community.example.com",
    "TAP_ZENDESK_COMMUNITY_RELATIONS_API_TOKEN": "community-token-from-k8s",
    "TAP_ZENDESK_COMMUNITY_RELATIONS_SUBDOMAIN": "acme-community",
    "TAP_ZENDESK_COMMUNITY_RELATIONS_START_DATE": "2022-06-01T00:00:00Z",
}


def resolved(meltano, plugin: str, env: dict[str, str]) -> dict:
    out = meltano.run("--environment=prod", "config", "--unsafe", "print", plugin, "--format=json", env=env).stdout
    return json.loads(out[out.index("{") :])


def point_at(main, community) -> dict[str, str]:
    """Each plugin at its own emulator, through Meltano's own per-plugin variables."""
    return {
        "TAP_ZENDESK_API_URL": f"{main.url}/api/v2",
        "TAP_ZENDESK__COMMUNITY_RELATIONS_API_URL": f"{community.url}/api/v2",
    }


def test_each_plugin_resolves_its_own_credentials_from_its_own_variables(meltano):
    main, community = resolved(meltano, MAIN, PROD_ENV), resolved(meltano, COMMUNITY, PROD_ENV)
    for config, prefix in ((main, "TAP_ZENDESK_"), (community, "TAP_ZENDESK_COMMUNITY_RELATIONS_")):
        for setting in ("email", "api_token", "subdomain", "start_date"):
            assert config[setting] == PROD_ENV[prefix + setting.upper()], (prefix, setting)
    listing = meltano.run("--environment=prod", "config", "list", COMMUNITY, env=PROD_ENV).stdout
    assert "${TAP_ZENDESK_COMMUNITY_RELATIONS_EMAIL}" in listing


def test_community_never_falls_back_to_the_main_accounts_credentials(meltano):
    main_only = {k: v for k, v in PROD_ENV.items() if not k.startswith("TAP_ZENDESK_COMMUNITY_RELATIONS_")}
    community = resolved(meltano, COMMUNITY, main_only)
    assert not community.get("api_token")
    assert not community.get("email")


def test_each_account_lands_only_its_own_data_in_its_own_schema(meltano, emulator):
    main = emulator("zendesk", seed=31, volume=25)
    community = emulator("zendesk", seed=32, volume=15, account="community")
    for server in (main, community):
        server.emulator.advance(updates=3, creates=2, deletes=2)  # deleted tickets exist
    env = point_at(main, community)
    meltano.run("run", JOBS[MAIN], env=env)
    meltano.run("run", JOBS[COMMUNITY], env=env)
    for plugin, server in ((MAIN, main), (COMMUNITY, community)):
        schema = SCHEMAS[plugin]
        landed = dict(meltano.query(f'select id, status from "{schema}".tickets'))
        truth = {t["id"]: t["status"] for t in server.emulator.truth("tickets")["tickets"]}
        assert landed == truth, plugin
        assert "deleted" in landed.values()
        users = dict(meltano.query(f'select id, active from "{schema}".users'))
        assert users == {u["id"]: u["active"] for u in server.emulator.truth("users")["users"]}
        emails = {e for (e,) in meltano.query(f'select email from "{schema}".users')}
        assert not any("@" in e for e in emails)  # hashed by the extractor's launcher on the way in
    community_tables = {
        name for (name,) in meltano.query(
            "select table_name from information_schema.tables where table_schema = ?", [SCHEMAS[COMMUNITY]]
        )
    }  # fmt: skip
    assert "sla_policies" not in community_tables  # its own selection, not the main account's
    assert {"tickets", "ticket_audits", "ticket_comments", "users"} <= community_tables


def test_a_second_run_upserts_changes_and_marks_deleted_tickets(meltano, emulator):
    main = emulator("zendesk", seed=33, volume=20)
    community = emulator("zendesk", seed=34, volume=5, account="community")
    env = point_at(main, community)
    meltano.run("run", JOBS[MAIN], env=env)
    change = main.emulator.advance(updates=4, creates=3, deletes=3).of("tickets")
    meltano.run("run", JOBS[MAIN], env=env)
    rows = meltano.query('select id, status, generated_timestamp from "TAP_ZENDESK".tickets')
    assert len(rows) == len({r[0] for r in rows}), "no duplicates"
    truth = {t["id"]: (t["status"], t["generated_timestamp"]) for t in main.emulator.truth("tickets")["tickets"]}
    assert {r[0]: (r[1], r[2]) for r in rows} == truth
    assert {truth[k][0] for k in change.deleted} == {"deleted"}


def test_schedules_run_the_snowflake_jobs_at_four_and_five_utc(meltano):
    out = meltano.run("schedule", "list", "--format=json").stdout
    schedules = {s["name"]: s for s in json.loads(out[out.index("{") :])["schedules"]["job"]}
    assert schedules["zendesk-daily"]["cron_interval"] == "0 4 * * *"
    assert schedules["zendesk-daily"]["job"]["name"] == "zendesk-to-snowflake"
    assert schedules["zendesk-community-relations-daily"]["cron_interval"] == "0 5 * * *"
    assert schedules["zendesk-community-relations-daily"]["job"]["name"] == "zendesk-community-relations-to-snowflake"
    jobs = meltano.run("job", "list", "--format=json").stdout
    tasks = {j["job_name"]: j["tasks"] for j in json.loads(jobs[jobs.index("{") :])["jobs"]}
    assert tasks["zendesk-to-snowflake"] == ["snowflake-preflight:check-zendesk", "tap-zendesk target-snowflake"]
    assert tasks["zendesk-community-relations-to-snowflake"] == [
        "snowflake-preflight:check-zendesk-community-relations",
        f"{COMMUNITY} target-snowflake",
    ]
