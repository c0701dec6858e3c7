"""Recall and repair programs: campaigns, customer notices, progress, closure."""

from qa_incidents.recalls import subscriptions  # noqa: F401  (connects its event subscribers: core/events.py)
