"""E-mails in each recipient's language; what users wrote stays as written."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from qa_incidents.accounts.models import User
from qa_incidents.core import i18n
from qa_incidents.core.outbox import OutboxMessage
from qa_incidents.reviews.lessons import notify_subscribers
from qa_incidents.reviews.models import Lesson, LessonSubscription


def test_recipients_are_grouped_by_language() -> None:
    grouped = i18n.recipients_by_language([("a@x", "ja"), ("b@x", "en"), ("c@x", None), ("a@x", "ja"), ("d@x", "fr")])
    assert grouped == {"ja": ["a@x"], "en": ["b@x", "c@x", "d@x"]}


def test_lesson_e_mails_speak_each_subscribers_language(app: Flask, demo, clock) -> None:  # type: ignore[no-untyped-def]
    if "qa_i18n" not in app.extensions:
        i18n.init_app(app)
    people = {email: demo.scalar(sa.select(User).where(User.email == email))
              for email in ("engineer@example.com", "hq.qa@example.com")}
    people["engineer@example.com"].locale = "ja"
    for user in people.values():
        demo.add(LessonSubscription(user_id=user.id, kind="failure_mode", value="Fire / overheating", active=True,
                                    created_at=clock()))
    demo.flush()
    lesson = Lesson(id=4242, title="冷蔵庫リレー端子の発火", product_category="Home Appliances › Refrigerators",
                    failure_mode="Fire / overheating", summary="圧着不良で接触抵抗が増大した。")
    with app.app_context():
        sent = notify_subscribers(demo, lesson=lesson, now=clock(), base_url="http://qa.example")
    assert sent == 2
    subjects = {m.to_addrs: m.subject for m in demo.scalars(sa.select(OutboxMessage))}
    assert subjects["engineer@example.com"] == "新しい教訓：冷蔵庫リレー端子の発火"
    assert subjects["hq.qa@example.com"] == "New lesson learned: 冷蔵庫リレー端子の発火"
