"""Log-in and user administration: no hints for attackers, no lock-outs by mistake, passwords never audited."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from qa_incidents.accounts import service as accounts
from qa_incidents.accounts.models import User
from qa_incidents.core.audit import AuditEvent
from qa_incidents.core.errors import ValidationFailed
from qa_incidents.core.permissions import Role

DEMO_PASSWORD = "demo-password-2026"
NEW_PASSWORD = "a-brand-new-passphrase"


def data_of(user: User, **changes: object) -> accounts.UserInput:
    values = dict(email=user.email, name=user.name, role=user.role, division_id=user.division_id,
                  timezone=user.timezone, locale=user.locale, active=user.active)
    values.update(changes)
    return accounts.UserInput(**values)  # type: ignore[arg-type]


def user_events(session, user_id: int) -> list[AuditEvent]:
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "user",
                                                            AuditEvent.entity_id == user_id).order_by(AuditEvent.id)))


# --- log-in ----------------------------------------------------------------------------


def test_authenticate_with_the_right_password(demo, clock):
    user = accounts.authenticate(demo, email="reporter@example.com", password=DEMO_PASSWORD, now=clock())
    assert user is not None and user.email == "reporter@example.com"
    assert user.last_login_at == clock()


def test_passwords_are_hashed_with_owasps_argon2id_parameters_and_old_hashes_upgraded_at_log_in(demo, clock,
                                                                                              monkeypatch):
    """19 MiB, 2 passes, 1 lane (OWASP's first Argon2id configuration); a hash made with the library's former
    default (64 MiB, 3 passes, 4 lanes: 64 MiB more of a worker at each log-in) still lets its user in, once, and is
    replaced by one with the current parameters."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(**accounts.HASH_PARAMETERS))  # the suite's is cheaper
    assert accounts.hash_password(NEW_PASSWORD).startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    user = demo.scalar(sa.select(User).where(User.email == "reporter@example.com"))
    user.password_hash = PasswordHasher(time_cost=3, memory_cost=65_536, parallelism=4).hash(DEMO_PASSWORD)
    demo.flush()
    signed_in = accounts.authenticate(demo, email="reporter@example.com", password=DEMO_PASSWORD, now=clock())
    assert signed_in is not None
    assert signed_in.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert accounts.authenticate(demo, email="reporter@example.com", password=DEMO_PASSWORD, now=clock()) is not None
    # A signature's password check replaces an old hash too (a user who stays logged in for days signs meanwhile).
    user.password_hash = PasswordHasher(time_cost=3, memory_cost=65_536, parallelism=4).hash(DEMO_PASSWORD)
    demo.flush()
    assert accounts.verify_password(demo, user=user, password=DEMO_PASSWORD, now=clock())
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_every_refused_log_in_takes_the_same_floor_of_time(demo, clock, monkeypatch):
    """An unknown address, a wrong password, a wrong password for an older hash (more work) and an account that
    signs in only through single sign-on (no hash) all answer after the same floor, so the time tells nobody which
    addresses have accounts; a right password is not held back."""
    import time

    from argon2 import PasswordHasher

    monkeypatch.setattr(accounts, "FAILED_LOGIN_FLOOR", 0.25)
    users = {u.email: u for u in demo.scalars(sa.select(User))}
    users["division.qa@example.com"].password_hash = PasswordHasher(time_cost=3, memory_cost=65_536,
                                                                    parallelism=4).hash(DEMO_PASSWORD)
    users["engineer@example.com"].password_hash = "!single-sign-on"
    demo.flush()
    timings = {}
    for email in ("nobody@example.com", "reporter@example.com", "division.qa@example.com", "engineer@example.com"):
        started = time.monotonic()
        assert accounts.authenticate(demo, email=email, password="not-the-password-1", now=clock()) is None
        timings[email] = time.monotonic() - started
    assert all(0.25 <= t < 1.0 for t in timings.values()), timings
    started = time.monotonic()
    assert accounts.authenticate(demo, email="hq.qa@example.com", password=DEMO_PASSWORD, now=clock()) is not None
    assert time.monotonic() - started < 0.25


@pytest.mark.parametrize("email", ["REPORTER@example.com", "  Reporter@Example.Com  "])
def test_email_is_case_insensitive(demo, clock, email):
    user = accounts.authenticate(demo, email=email, password=DEMO_PASSWORD, now=clock())
    assert user is not None and user.email == "reporter@example.com"


def test_wrong_password_and_unknown_email_look_the_same(demo, clock):
    wrong = accounts.authenticate(demo, email="reporter@example.com", password="not-the-password", now=clock())
    unknown = accounts.authenticate(demo, email="nobody@example.com", password=DEMO_PASSWORD, now=clock())
    assert wrong is None and unknown is None
    reporter = demo.scalar(sa.select(User).where(User.email == "reporter@example.com"))
    assert reporter.last_login_at is None  # a failed attempt is not a log-in


def test_password_is_case_sensitive(demo, clock):
    assert accounts.authenticate(demo, email="reporter@example.com", password=DEMO_PASSWORD.upper(), now=clock()) is None


def test_inactive_user_cannot_log_in(demo, demo_user, clock):
    admin, reporter = demo_user("admin@example.com"), demo_user("reporter@example.com")
    accounts.update_user(demo, user_id=reporter.id, data=data_of(reporter, active=False), new_password=None,
                         actor_id=admin.id, now=clock())
    demo.commit()
    assert accounts.authenticate(demo, email="reporter@example.com", password=DEMO_PASSWORD, now=clock()) is None


@pytest.mark.parametrize(
    "password, acceptable",
    [
        ("", False),
        ("x" * 11, False),
        ("x" * 12, True),
        ("correct horse battery", True),
        (" leading-space-pw", False),
        ("trailing-space-pw ", False),
        (" " * 20, False),
    ],
)
def test_password_problems(password, acceptable):
    problem = accounts.password_problems(password)
    assert (problem is None) is acceptable
    if len(password) < 12:
        assert problem == "Use at least 12 characters."


# --- administration --------------------------------------------------------------------


def test_create_user_and_log_in(demo, demo_user, demo_division, clock):
    admin = demo_user("admin@example.com")
    created = accounts.create_user(
        demo, data=accounts.UserInput(email=" New.Person@Example.com ", name=" New Person ", role=Role.REPORTER,
                                      division_id=demo_division("SS").id, timezone="Europe/Berlin"),
        password=NEW_PASSWORD, actor_id=admin.id, now=clock())
    demo.commit()
    assert (created.email, created.name) == ("new.person@example.com", "New Person")
    assert created.password_hash != NEW_PASSWORD
    assert accounts.authenticate(demo, email="new.person@example.com", password=NEW_PASSWORD, now=clock()) == created
    [event] = user_events(demo, created.id)
    assert (event.action, event.actor_id) == ("created", admin.id)
    assert event.changes["email"] == [None, "new.person@example.com"]
    assert event.changes["role"] == [None, "reporter"]
    text = json.dumps(event.changes)
    assert NEW_PASSWORD not in text and created.password_hash not in text and "password" not in text


@pytest.mark.parametrize("email", ["reporter@example.com", "REPORTER@EXAMPLE.COM"])
def test_create_user_with_a_taken_email_is_refused(demo, demo_division, clock, email):
    with pytest.raises(ValidationFailed) as failure:
        accounts.create_user(demo, data=accounts.UserInput(email=email, name="Copy", role=Role.REPORTER,
                                                           division_id=demo_division("HA").id, timezone="Asia/Tokyo"),
                             password=NEW_PASSWORD, actor_id=None, now=clock())
    assert set(failure.value.errors) == {"email"}
    assert demo.scalar(sa.select(sa.func.count(User.id))) == 8


def test_create_user_checks_every_field(demo, clock):
    with pytest.raises(ValidationFailed) as failure:
        accounts.create_user(demo, data=accounts.UserInput(email="not-an-email", name=" ", role=Role.REPORTER,
                                                           division_id=999, timezone="Mars/Base", locale="fr"),
                             password="short", actor_id=None, now=clock())
    assert set(failure.value.errors) == {"email", "name", "division_id", "timezone", "locale", "password"}


def test_update_user_refuses_to_deactivate_oneself(demo, demo_user, clock):
    admin = demo_user("admin@example.com")
    with pytest.raises(ValidationFailed) as failure:
        accounts.update_user(demo, user_id=admin.id, data=data_of(admin, active=False), new_password=None,
                             actor_id=admin.id, now=clock())
    assert "role" in failure.value.errors
    demo.rollback()
    assert demo.get(User, admin.id).active is True


def test_update_user_refuses_to_change_ones_own_role(demo, demo_user, clock):
    admin = demo_user("admin@example.com")
    with pytest.raises(ValidationFailed):
        accounts.update_user(demo, user_id=admin.id, data=data_of(admin, role=Role.REPORTER), new_password=None,
                             actor_id=admin.id, now=clock())


def test_update_user_audits_changes_and_hides_the_password(demo, demo_user, clock):
    admin, reporter = demo_user("admin@example.com"), demo_user("reporter@example.com")
    accounts.update_user(demo, user_id=reporter.id, data=data_of(reporter, name="Aiko Tanaka-Smith"),
                         new_password=NEW_PASSWORD, actor_id=admin.id, now=clock())
    demo.commit()
    event = user_events(demo, reporter.id)[-1]
    assert (event.action, event.actor_id) == ("updated", admin.id)
    assert event.changes == {"name": ["Aiko Tanaka", "Aiko Tanaka-Smith"], "password": ["(hidden)", "(changed)"],
                             "sessions": ["(open)", "(ended)"]}  # a new password ends the user's sessions
    assert NEW_PASSWORD not in json.dumps(event.changes)
    assert accounts.authenticate(demo, email="reporter@example.com", password=NEW_PASSWORD, now=clock()) is not None
    assert accounts.authenticate(demo, email="reporter@example.com", password=DEMO_PASSWORD, now=clock()) is None


def test_update_user_without_changes_writes_no_event(demo, demo_user, clock):
    admin, reporter = demo_user("admin@example.com"), demo_user("reporter@example.com")
    before = len(user_events(demo, reporter.id))
    accounts.update_user(demo, user_id=reporter.id, data=data_of(reporter), new_password=None, actor_id=admin.id,
                         now=clock())
    assert len(user_events(demo, reporter.id)) == before


def test_update_user_refuses_a_short_new_password(demo, demo_user, clock):
    admin, reporter = demo_user("admin@example.com"), demo_user("reporter@example.com")
    with pytest.raises(ValidationFailed) as failure:
        accounts.update_user(demo, user_id=reporter.id, data=data_of(reporter), new_password="short",
                             actor_id=admin.id, now=clock())
    assert set(failure.value.errors) == {"password"}


def test_change_own_password_needs_the_current_one(demo, demo_user, clock):
    reporter = demo_user("reporter@example.com")
    with pytest.raises(ValidationFailed) as failure:
        accounts.change_own_password(demo, user=reporter, current="wrong-password!", new=NEW_PASSWORD, now=clock())
    assert set(failure.value.errors) == {"current_password"}
    accounts.change_own_password(demo, user=reporter, current=DEMO_PASSWORD, new=NEW_PASSWORD, now=clock())
    demo.commit()
    event = user_events(demo, reporter.id)[-1]
    assert (event.action, event.changes) == ("password_changed", {"password": ["(hidden)", "(changed)"],
                                                                   "sessions": ["(open)", "(ended)"]})
    assert accounts.authenticate(demo, email="reporter@example.com", password=NEW_PASSWORD, now=clock()) is not None


def test_division_codes_and_names_are_unique(demo, clock):
    with pytest.raises(ValidationFailed) as failure:
        accounts.create_division(demo, data=accounts.DivisionInput(code="ha", name="Home Appliances"), actor_id=None,
                                 now=clock())
    assert set(failure.value.errors) == {"code", "name"}
