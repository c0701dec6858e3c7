from qa_incidents.inbox import subscriptions  # noqa: F401  (connects its event subscribers: core/events.py)
