"""OCHIBO-HIROI root-cause reviews and the lessons-learned library."""

from qa_incidents.reviews import subscriptions  # noqa: F401  (connects its event subscribers: core/events.py)
