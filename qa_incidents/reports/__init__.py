"""Top-management status reports, the portfolio report and the quality dashboard."""

from qa_incidents.reports import subscriptions  # noqa: F401  (connects its event subscribers: core/events.py)
