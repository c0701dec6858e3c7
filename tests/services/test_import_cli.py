"""`qa-incidents import FILE --profile NAME` and `qa-incidents export`: what scripts rely on."""

from __future__ import annotations

import json
import shutil

import sqlalchemy as sa

from qa_incidents.accounts.models import Division
from qa_incidents.api import importer
from qa_incidents.incidents.models import Incident


def test_import_command_prints_counts_last_and_adds_nothing_the_second_time(app, demo, tmp_path):  # type: ignore[no-untyped-def]
    file = tmp_path / "complaints.csv.gz"
    shutil.copy(importer.sample_path("nhtsa_complaints.csv.gz"), file)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", str(file), "--profile", "nhtsa-complaints"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["rows"] == 311
    assert summary["imported"] + summary["rejected"] + summary["already_present"] == 311
    assert summary["imported"] == 311

    result = runner.invoke(args=["import", str(file), "--profile", "nhtsa-complaints"])
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["imported"], summary["already_present"]) == (0, 311)
    demo.rollback()
    imported = sa.select(Division.id).where(Division.code == "IMP").scalar_subquery()
    assert demo.scalar(sa.select(sa.func.count(Incident.id)).where(Incident.division_id == imported)) == 311


def test_rejected_rows_are_written_next_to_the_file(app, demo, tmp_path):  # type: ignore[no-untyped-def]
    file = tmp_path / "recalls.csv.gz"
    shutil.copy(importer.sample_path("fda_device_recalls.csv.gz"), file)
    result = app.test_cli_runner().invoke(args=["import", str(file), "--profile", "fda-device-recalls",
                                                "--actor", "hq.qa@example.com"])
    assert result.exit_code == 1  # some rows rejected; the others are saved
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["rejected"] >= 1
    report = tmp_path / "recalls.csv.gz.rejected.csv"
    assert summary["report"] == str(report)
    lines = report.read_text().splitlines()
    assert lines[0] == "line,source_key,outcome,reason"
    assert sum(1 for line in lines if ",rejected," in line) == summary["rejected"]


def test_import_command_refuses_an_unknown_profile_or_file(app, demo, tmp_path):  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", str(tmp_path / "none.csv"), "--profile", "nhtsa-complaints"])
    assert result.exit_code == 2 and "cannot read" in result.output
    file = tmp_path / "x.csv"
    file.write_text("a,b\n1,2\n")
    result = runner.invoke(args=["import", str(file), "--profile", "no-such-profile"])
    assert result.exit_code == 2 and "no import profile named 'no-such-profile'" in result.output
    result = runner.invoke(args=["import", str(file), "--profile", "nhtsa-complaints"])
    assert result.exit_code == 2 and "has no column(s)" in result.output


def test_export_command_writes_what_the_user_may_read(app, demo, tmp_path):  # type: ignore[no-untyped-def]
    out = tmp_path / "register.xlsx"
    result = app.test_cli_runner().invoke(args=["export", "register", "-o", str(out), "--actor", "cable.reporter@example.com"])
    assert result.exit_code == 0, result.output
    rows = importer.read_file("register.xlsx", out.read_bytes()).rows
    assert rows and {r["division"] for _, r in rows} == {"CM"}


def test_export_command_writes_recalls_and_lessons(app, demo, tmp_path):  # type: ignore[no-untyped-def]
    from qa_incidents.recalls.seed import seed_demo
    from qa_incidents.reviews import lessons

    seed_demo(demo)
    lessons.import_rows(demo, lessons.read_sample()[:30], now=demo.scalar(sa.select(sa.func.max(Incident.created_at))))
    demo.commit()
    runner = app.test_cli_runner()
    out = tmp_path / "recalls.json"
    result = runner.invoke(args=["export", "recalls", "-o", str(out), "--actor", "reporter@example.com"])
    assert result.exit_code == 0, result.output
    assert [r["division"] for r in json.loads(out.read_text())["items"]] == ["HA"]
    out = tmp_path / "lessons.csv"
    result = runner.invoke(args=["export", "lessons", "-o", str(out), "--actor", "engineer@example.com"])
    assert result.exit_code == 0, result.output
    assert len(importer.read_file("l.csv", out.read_bytes()).rows) == 30
    refused = runner.invoke(args=["export", "recalls", "-o", str(out), "--actor", "engineer@example.com"])
    assert refused.exit_code == 2 and "may not take this export" in refused.output
    bad = runner.invoke(args=["export", "recalls", "-o", str(out), "--status", "lost"])
    assert bad.exit_code == 2 and "unknown recall status" in bad.output
