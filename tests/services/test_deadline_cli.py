"""`qa-incidents deadline REGIME_CODE AWARE_AT`: one JSON object on stdout, clear refusals on stderr (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo

import config
from qa_incidents import create_app
from qa_incidents.cli import main


def run(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["deadline", *args])


def deadline_json(app: Flask, *args: str) -> dict:
    result = run(app, *args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.count("\n") == 1, "one JSON object on one line"
    return json.loads(result.stdout)


def test_japan_worked_example(app: Flask):
    out = deadline_json(app, "JP-CPSA-35", "2026-03-02T10:00:00+09:00")
    assert out["regime"] == "JP-CPSA-35"
    assert out["due_at"] == "2026-03-11T23:59:59+09:00"
    assert out["due_date"] == "2026-03-11"
    assert out["timezone"] == "Asia/Tokyo"
    assert out["due_at_utc"] == "2026-03-11T14:59:59+00:00"
    assert out["is_legal_deadline"] is True
    assert "10 days counting the day of knowledge" in out["explanation"]
    assert "2026-03-11 23:59:59 JST" in out["explanation"]
    assert out["skipped_days"] == []
    assert "Act No. 91 of 1988 Art. 2" in out["legal_basis"]
    assert out["steps"][-1] == "Due 2026-03-11 23:59:59 JST."
    assert out["calendar_version"].startswith("JP-ADMIN-HOLIDAYS v")
    assert all(isinstance(note, str) for note in out["unconfirmed"])


def test_21CFR803_50_timezone_option_counts_the_aware_sites_date(app: Flask):
    without = deadline_json(app, "US-FDA-803-30", "2026-08-14T21:30:00-07:00")
    assert without["due_date"] == "2026-09-14"  # New York's date (15 August) as before
    out = deadline_json(app, "US-FDA-803-30", "2026-08-14T21:30:00-07:00", "--timezone", "America/Los_Angeles")
    assert out["due_date"] == "2026-09-13"
    assert out["aware_timezone"] == "America/Los_Angeles" and out["counted_on"] == "aware_site"
    assert "earlier" in out["explanation"]
    assert "21 CFR 803.50" in out["legal_basis"]


def test_an_unknown_timezone_is_refused(app: Flask):
    result = run(app, "US-FDA-803-30", "2026-08-14T21:30:00-07:00", "--timezone", "Mars/Base")
    assert result.exit_code == 2
    assert "not an IANA time zone" in result.stderr


def test_output_is_not_ascii_escaped(app: Flask):
    result = run(app, "JP-CPSA-35", "2026-03-02T10:00:00+09:00")
    assert "消費生活用製品安全法" in result.stdout
    assert "\\u" not in result.stdout


def test_cpsc_24_hours_across_thanksgiving(app: Flask):
    out = deadline_json(app, "US-CPSC-15B", "2026-11-25T14:00:00-05:00")
    assert out["due_at"] == "2026-11-27T14:00:00-05:00"
    assert out["due_date"] == "2026-11-27"
    assert out["timezone"] == "America/New_York"
    assert out["due_at_utc"] == "2026-11-27T19:00:00+00:00"
    assert out["skipped_days"] == ["2026-11-26"]
    assert out["skipped"] == [{"date": "2026-11-26", "reason": "Thanksgiving Day"}]
    assert "2026-11-26 Thanksgiving Day" in out["explanation"]


def test_an_instant_in_utc_is_counted_on_the_authoritys_local_date(app: Flask):
    # 15:30 UTC on 2 March is already 00:30 on 3 March in Tokyo: day 1 is the 3rd, due the 12th.
    out = deadline_json(app, "JP-CPSA-35", "2026-03-02T15:30:00Z")
    assert out["aware_at"] == "2026-03-03T00:30:00+09:00"
    assert out["due_at"] == "2026-03-12T23:59:59+09:00"
    assert out["due_date"] == "2026-03-12"
    # The same local date in UTC gives the earlier day.
    assert deadline_json(app, "JP-CPSA-35", "2026-03-02T14:30:00Z")["due_date"] == "2026-03-11"


def test_no_legal_deadline_reports_the_internal_target(app: Flask):
    out = deadline_json(app, "EU-GPSR-20", "2026-06-10T07:15:00Z")
    assert out["is_legal_deadline"] is False
    assert out["due_at"] == "2026-06-11T09:15:00+02:00"
    assert out["internal_target_utc"] == "2026-06-11T07:15:00+00:00"
    assert "not a legal deadline" in out["explanation"]
    assert out["unconfirmed"]


def test_unknown_regime_code_exits_2_naming_the_known_codes(app: Flask):
    result = run(app, "XX-NOPE", "2026-03-02T10:00:00+09:00")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "unknown regime code 'XX-NOPE'" in result.stderr
    assert "JP-CPSA-35" in result.stderr and "US-CPSC-15B" in result.stderr


def test_regime_code_is_read_case_insensitively(app: Flask):
    assert deadline_json(app, "jp-cpsa-35", "2026-03-02T10:00:00+09:00")["regime"] == "JP-CPSA-35"


@pytest.mark.parametrize("instant", ["2026-03-02T10:00:00", "2026-03-02"])
def test_an_instant_without_offset_is_refused(app: Flask, instant: str):
    result = run(app, "JP-CPSA-35", instant)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "has no UTC offset" in result.stderr


@pytest.mark.parametrize("instant", ["yesterday", "2026-02-30T10:00:00+09:00", "2026-03-02T10:00:00+25:00", ""])
def test_a_malformed_instant_is_refused(app: Flask, instant: str):
    result = run(app, "JP-CPSA-35", instant)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "is not an ISO 8601 date and time" in result.stderr


@pytest.mark.parametrize("code, instant", [("US-CPSC-15B", "9999-12-31T10:00:00Z"),
                                           ("JP-CPSA-35", "0001-01-01T00:00:00+09:00")])
def test_an_instant_at_the_edge_of_the_calendar_is_refused_not_a_crash(app: Flask, code: str, instant: str):
    result = run(app, code, instant)
    assert result.exit_code == 2
    assert "no deadline can be computed" in result.stderr
    assert "Traceback" not in result.output


def test_missing_arguments_exit_2(app: Flask):
    assert run(app, "JP-CPSA-35").exit_code == 2


def test_the_console_script_group_runs_the_command(app: Flask):
    result = CliRunner().invoke(main, ["deadline", "AU-ACL-131", "2026-03-05T10:00:00+11:00"],
                                obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["due_at"] == "2026-03-09T23:59:00+11:00"
    assert out["skipped_days"] == ["2026-03-07", "2026-03-08"]


def test_the_command_needs_no_database(tmp_path: Path):
    missing = tmp_path / "no-such-dir" / "db.sqlite3"
    app = create_app(config.TestConfig(), DATABASE_URL=f"sqlite:///{missing}", INSTANCE_DIR=str(tmp_path),
                     ATTACHMENT_DIR=str(tmp_path / "attachments"))
    out = deadline_json(app, "US-FDA-803-5", "2026-01-15T10:00:00-05:00")
    assert out["due_at"] == "2026-01-23T23:59:59-05:00"
    assert "2026-01-19" in out["skipped_days"]
    assert not missing.parent.exists()
