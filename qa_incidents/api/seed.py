"""Demo data: the shipped samples of real public recall and complaint data, imported as history. Idempotent."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.accounts.models import User
from qa_incidents.api import importer
from qa_incidents.api.models import ImportedRecord
from qa_incidents.core.clock import utcnow
from qa_incidents.core.permissions import Role

#: (profile, sample file) of each shipped source, as `make demo-data` loads them.
SHIPPED_SOURCES = (
    ("fda-device-recalls", "fda_device_recalls.csv.gz"),
    ("canada-consumer-recalls", "canada_consumer_recalls.csv.gz"),
    ("nhtsa-complaints", "nhtsa_complaints.csv.gz"),
)


def seed_demo(session: so.Session) -> None:
    """Import each shipped sample once, as the first head-office QA user, into the "Imported history" division.

    A source that has been imported before is skipped whole (the import itself would add nothing anyway,
    but reading it again costs seconds), unless its profile makes recall campaigns and none were made yet
    (a database loaded before recalls were imported): then the import runs again and adds only those.
    Flushes only: the caller commits.
    """
    user = session.scalar(sa.select(User).where(User.role == Role.HEAD_OFFICE_QA, User.active.is_(True))
                          .order_by(User.id).limit(1))
    if user is None:
        return
    for profile_name, sample in SHIPPED_SOURCES:
        profile = importer.load_profile(session, profile_name)
        if _imported(session, profile.source) and (
                "recall" not in profile.extra or _imported(session, profile.source, "recall")):
            continue
        path = importer.sample_path(sample)
        source = importer.read_file(path.name, path.read_bytes())
        importer.import_rows(session, profile=profile, source=source, user=user, now=utcnow())


def _imported(session: so.Session, source: str, entity_type: str = "incident") -> bool:
    return session.scalar(sa.select(ImportedRecord.id).where(ImportedRecord.source == source,
                                                              ImportedRecord.entity_type == entity_type).limit(1)) is not None
