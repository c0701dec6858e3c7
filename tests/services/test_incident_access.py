"""Who can open which incident: division scoping, with NotFound (never a hint) for the rest."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from qa_incidents.core.errors import NotFound
from qa_incidents.incidents import service
from qa_incidents.incidents.models import Incident

HOME_APPLIANCES_FIRE = "INC-2026-000001"  # filed by the Home Appliances reporter
CABLE_OVERHEAT = "INC-2026-000005"  # filed by the Cable Materials reporter

#: e-mail → (may open the Home Appliances incident, may open the Cable Materials incident)
ACCESS = {
    "reporter@example.com": (True, False),
    "division.qa@example.com": (True, False),
    "cable.reporter@example.com": (False, True),
    "hq.qa@example.com": (True, True),
    "executive@example.com": (True, True),
    "engineer@example.com": (False, False),
    "admin@example.com": (False, False),
}


def incident_id(session, reference: str) -> int:
    return session.scalar(sa.select(Incident.id).where(Incident.reference == reference))


@pytest.mark.parametrize("email", list(ACCESS))
def test_get_incident_is_scoped_by_division(demo, demo_user, email):
    viewer = demo_user(email)
    with pytest.raises(NotFound) as missing:
        service.get_incident(demo, user=viewer, incident_id=999_999)
    for reference, allowed in zip((HOME_APPLIANCES_FIRE, CABLE_OVERHEAT), ACCESS[email], strict=True):
        ident = incident_id(demo, reference)
        typed = f" {reference.lower()} "  # as someone might paste it
        if allowed:
            assert service.get_incident(demo, user=viewer, incident_id=ident).reference == reference
            assert service.get_incident_by_reference(demo, user=viewer, reference=typed).id == ident
        else:
            with pytest.raises(NotFound) as refused:
                service.get_incident(demo, user=viewer, incident_id=ident)
            # Exactly what a missing incident gives: no hint that this one exists.
            assert (refused.value.status_code, str(refused.value)) == (404, str(missing.value))
            with pytest.raises(NotFound):
                service.get_incident_by_reference(demo, user=viewer, reference=typed)
