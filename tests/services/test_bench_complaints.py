"""`make bench`'s complaint scenario runs: a year of generated complaints imported, re-sent, and scanned."""

from __future__ import annotations

import sqlalchemy as sa

from bench import complaints as bench_complaints
from bench import run as bench_run
from qa_incidents.complaints.models import Complaint
from qa_incidents.core.audit import AuditEvent


def test_the_bench_imports_generated_complaints_once_and_scans_them(demo, database_url, tmp_path, capsys):
    imported, scanned = bench_run.complaint_runs(database_url, 400, "sqlite", incidents=0, instance_dir=tmp_path,
                                                 resend=150)

    assert imported["scenario"] == "complaint_import" and imported["rows"] == 400
    assert imported["imported"] == 400 and imported["rejected"] == 0 and imported["rows_per_s"] > 0
    assert imported["flagged"] > 0  # about one in a hundred generated complaints mentions smoke, sparks, fire…
    assert (imported["resent"], imported["resent_added"]) == (150, 0)
    assert scanned["scenario"] == "complaint_scan" and scanned["rows"] == 400
    assert scanned["series"] > 0 and scanned["seconds"] >= 0
    printed = capsys.readouterr().out
    assert "complaint_import" in printed and "rows/s" in printed and "complaint_scan" in printed

    demo.rollback()  # a fresh snapshot
    assert demo.scalar(sa.select(sa.func.count()).select_from(Complaint)
                       .where(Complaint.source == bench_complaints.SOURCE)) == 400
    assert demo.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                       .where(AuditEvent.entity_type == "complaint_import")) == 2  # one batch each time
