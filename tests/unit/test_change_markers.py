"""Every change marker a cache reads is listed as one (a restore tells them from reference numbers by that list)."""

from __future__ import annotations

from qa_incidents.core.sequences import CHANGE_MARKERS
from qa_incidents.incidents.service import REGISTER_MARKER, REGISTER_PAGE_MARKER
from qa_incidents.notifications.records import BOARD_MARKER
from qa_incidents.notifications.service import LAWS_MARKER
from qa_incidents.reports.dashboard import VERSION as DASHBOARD_MARKER
from qa_incidents.reviews.search import LIBRARY_MARKER


def test_every_marker_is_listed_once():
    used = {REGISTER_MARKER, REGISTER_PAGE_MARKER, BOARD_MARKER, LAWS_MARKER, LIBRARY_MARKER, DASHBOARD_MARKER}
    assert used == set(CHANGE_MARKERS)
    assert len(CHANGE_MARKERS) == len(set(CHANGE_MARKERS))
