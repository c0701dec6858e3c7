"""`qa-incidents laws export|import`: files out and in, one JSON line of counts, exit status 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask

from qa_incidents.accounts.models import User
from qa_incidents.core.audit import AuditEvent
from qa_incidents.laws import transfer
from qa_incidents.laws.models import Law, LawCategory


def run(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["laws", *args])


def last_json(output: str) -> dict[str, int]:
    lines = output.strip().splitlines()
    return json.loads(lines[-1])


def test_export_json_to_standard_output(app: Flask, demo: so.Session):
    result = run(app, "export", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == transfer.export_json(demo)
    assert "消費生活用製品安全法" in result.stdout


def test_export_csv_to_standard_output(app: Flask, demo: so.Session):
    result = run(app, "export", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.decode() == transfer.export_csv(demo)  # (result.stdout turns CRLF into LF)
    assert result.stdout.startswith("record,jurisdiction,")


def test_export_csv_to_a_file_and_import_it_back(app: Flask, demo: so.Session, tmp_path: Path):
    path = tmp_path / "map.csv"
    result = run(app, "export", "--output", str(path))  # format from the extension
    assert result.exit_code == 0, result.output
    content = path.read_bytes()
    assert content.startswith(b"\xef\xbb\xbfrecord,")
    assert content.decode("utf-8-sig") == transfer.export_csv(demo)
    result = run(app, "import", str(path))
    assert result.exit_code == 0, result.output
    counts = last_json(result.stdout)
    assert counts == {"rows": counts["rows"], "created": 0, "updated": 0, "unchanged": counts["rows"], "rejected": 0}
    assert counts["rows"] > 50
    assert result.stdout.count("\n") == 1 and result.stderr == ""


def test_import_json_with_a_bad_row_keeps_the_good_ones_and_exits_1(app: Flask, demo: so.Session, tmp_path: Path):
    data = transfer.export_json(demo)
    cpsa = next(law for law in data["laws"] if law["short_name"] == "JP-CPSA")
    cpsa["categories"].append({"category": "home.toasters", "valid_from": None, "valid_to": None})
    cpsa["categories"].append({"category": "medical", "valid_from": "2027-01-01", "valid_to": None})
    cpsa["amendments"].append({"title": "Bad date", "enforced_on": "2027-02-30"})
    index = data["laws"].index(cpsa)
    path = tmp_path / "map.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = run(app, "import", str(path))
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        f"laws[{index}].categories[2]: unknown category code 'home.toasters'",
        f"laws[{index}].amendments[{len(cpsa['amendments']) - 1}]: enforced_on: not a date (YYYY-MM-DD): '2027-02-30'",
    ]
    counts = last_json(result.output)
    assert counts["created"] == 1 and counts["rejected"] == 2 and counts["updated"] == 0
    assert counts["rows"] == counts["created"] + counts["unchanged"] + counts["rejected"]
    demo.rollback()
    medical = demo.scalar(sa.select(LawCategory).join(Law).where(Law.short_name == "JP-CPSA",
                                                                 LawCategory.valid_from.is_not(None)))
    assert medical is not None and medical.category.code == "medical"


def test_csv_rejections_name_their_lines(app: Flask, demo: so.Session, tmp_path: Path):
    path = tmp_path / "fix.csv"
    path.write_text("record,law,category\r\ncoverage,JP-CPSA,vehicle\r\ncoverage,NO-SUCH-LAW,home\r\n", encoding="utf-8")
    result = run(app, "import", str(path))
    assert result.exit_code == 1
    assert result.stderr == "line 3: law 'NO-SUCH-LAW' not found\n"
    assert last_json(result.output) == {"rows": 2, "created": 1, "updated": 0, "unchanged": 0, "rejected": 1}


def test_the_actor_is_recorded(app: Flask, demo: so.Session, tmp_path: Path):
    path = tmp_path / "fix.csv"
    path.write_text("record,law,name_en\r\nlaw,JP-PSE,PSE Act\r\n", encoding="utf-8")
    result = run(app, "import", str(path), "--actor", "HQ.QA@example.com")
    assert result.exit_code == 0, result.output
    demo.rollback()
    event = demo.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "law", AuditEvent.action == "updated"))
    assert event.actor_id == demo.scalar(sa.select(User.id).where(User.email == "hq.qa@example.com"))
    assert event.changes["name_en"][1] == "PSE Act"


def test_an_actor_who_may_not_edit_the_map_is_refused(app: Flask, demo: so.Session, tmp_path: Path):
    path = tmp_path / "fix.csv"
    path.write_text("record,law,name_en\r\nlaw,JP-PSE,PSE Act\r\n", encoding="utf-8")
    result = run(app, "import", str(path), "--actor", "reporter@example.com")
    assert result.exit_code == 2
    assert "may not edit the laws map" in result.stderr
    demo.rollback()
    assert demo.scalar(sa.select(Law.name_en).where(Law.short_name == "JP-PSE")) != "PSE Act"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("map.json", b"\xff\xfe\x00{", "not UTF-8"),
    ("map.json", b"{\"laws\": [", "not valid JSON"),
    ("map.csv", b"when,what\r\n", "Unknown columns in the header"),
    ("map.yaml", b"laws: []", "must end in .json or .csv"),
    ("missing.json", None, "cannot read"),
])
def test_an_unreadable_file_exits_2(app: Flask, demo: so.Session, tmp_path: Path, name: str, content: bytes | None,
                                   message: str):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    events = demo.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    result = run(app, "import", str(path))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.startswith("Error: ")
    assert result.stdout == ""
    demo.rollback()
    assert demo.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events


def test_an_unwritable_output_exits_2(app: Flask, demo: so.Session, tmp_path: Path):
    result = run(app, "export", "--format", "json", "--output", str(tmp_path / "no" / "such" / "dir.json"))
    assert result.exit_code == 2
    assert "cannot write" in result.stderr
