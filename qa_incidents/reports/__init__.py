"""Top-management status reports, the portfolio report and the quality dashboard."""

from qa_incidents.reports import (
    printing,  # noqa: F401  (gives the outbox its status-report printer)
    subscriptions,  # noqa: F401  (connects its event subscribers: core/events.py)
)
