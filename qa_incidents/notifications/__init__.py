"""Regulator notifications: obligations, legal deadlines, submissions."""

from qa_incidents.notifications import subscriptions  # noqa: F401  (connects its event subscribers: core/events.py)
