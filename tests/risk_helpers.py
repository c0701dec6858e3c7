"""Recording the risk assessment a recall launch or a safety notice's approval needs, in tests of other things."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy.orm as so

from qa_incidents.accounts.models import User
from qa_incidents.risk.service import AssessmentInput

R_MAP_A = AssessmentInput(method="r_map", frequency="1/100000", harm_level="3",
                          rationale="Fire at 1 in 100,000 per unit-year: region A.")


def assess_recall(session: so.Session, *, user: User, recall_id: int, now: datetime) -> None:
    from qa_incidents.recalls import service

    service.record_risk_assessment(session, user=user, recall_id=recall_id, data=R_MAP_A, now=now)


def assess_notice(session: so.Session, *, user: User, notice_id: int, now: datetime) -> None:
    from qa_incidents.safety_notices import service

    service.record_risk_assessment(session, user=user, notice_id=notice_id, data=R_MAP_A, now=now)


def ensure_assessed(session: so.Session, subject_type: str, subject_id: int, *, now: datetime,
                    email: str = "division.qa@example.com") -> None:
    """Record the R-Map assessment above (by the division's QA manager) unless the subject has one; committed."""
    import sqlalchemy as sa

    from qa_incidents.risk.service import latest

    if latest(session, subject_type, subject_id) is not None:
        return
    user = session.scalar(sa.select(User).where(User.email == email))
    if subject_type == "recall":
        assess_recall(session, user=user, recall_id=subject_id, now=now)
    else:
        assess_notice(session, user=user, notice_id=subject_id, now=now)
    session.commit()
