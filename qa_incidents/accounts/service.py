"""Use cases for users and divisions: log-in, and the administration of both."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l

from qa_incidents.accounts.models import Division, LoginThrottle, User
from qa_incidents.core import audit
from qa_incidents.core.clock import is_valid_timezone
from qa_incidents.core.db import keep_after_rollback
from qa_incidents.core.errors import DomainError, NotFound, ValidationFailed
from qa_incidents.core.i18n import Recipient
from qa_incidents.core.permissions import Role

log = logging.getLogger(__name__)
#: Argon2id as the OWASP Password Storage Cheat Sheet's first configuration: 19 MiB of memory, 2 passes, 1 lane.
#: The library's default (64 MiB, 3 passes, 4 lanes) made every log-in and every signature's password check take 64 MiB
#: more of the worker for its duration (a worker at 150 MB peaked past 210). A hash made with other parameters is
#: still verified, and replaced at the user's next log-in (authenticate).
HASH_PARAMETERS = {"time_cost": 2, "memory_cost": 19_456, "parallelism": 1}
_hasher = PasswordHasher(**HASH_PARAMETERS)
# A hash of nothing, verified when the e-mail is unknown so both failures take the same time.
_DUMMY_HASH = _hasher.hash("not a password")

MIN_PASSWORD_LENGTH = 12
#: Failed log-ins for one e-mail address within the window that lock it for LOCKOUT.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
#: Long but well-known passwords (and patterns) that pass the length rule yet are guessed first.
COMMON_PASSWORDS = frozenset({
    "password1234", "password12345", "password123456", "123456789012", "1234567890123", "qwertyuiop12",
    "qwertyuiopas", "qwerty123456", "iloveyou1234", "letmein12345", "welcome12345", "administrator",
    "passwordpassword", "abcdefghijkl", "abc123abc123", "changeme1234", "trustno1trustno1",
})
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
USER_FIELDS = ("email", "name", "role", "division_id", "timezone", "locale", "era_dates", "active")
DIVISION_FIELDS = ("code", "name", "is_head_office", "active")


#: A refused log-in answers no sooner than this many seconds after it began, whatever refused it: an unknown address
#: (a dummy hash is checked), a wrong password for an account whose hash has the current parameters, one whose hash
#: predates them (more work, until its user's next log-in replaces it), or an account that signs in only through
#: single sign-on (no hash to check). Without it those take measurably different times, which tells which addresses
#: have accounts. Longer than any of those checks on this hardware (the oldest hashes take about 0.1 s).
FAILED_LOGIN_FLOOR = 0.3


def use_fast_hashing() -> None:
    """Cheaper Argon2 parameters, and no floor under a refused log-in's time, for the test suite only."""
    global _hasher, _DUMMY_HASH, FAILED_LOGIN_FLOOR
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    _DUMMY_HASH = _hasher.hash("not a password")
    FAILED_LOGIN_FLOOR = 0.0


def _answer_no_sooner(started: float) -> None:
    """Wait out the rest of FAILED_LOGIN_FLOOR after a refused log-in that began at `started` (time.monotonic)."""
    rest = started + FAILED_LOGIN_FLOOR - time.monotonic()
    if rest > 0:
        time.sleep(rest)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    """Whether the password is the user's."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str, *, email: str = "") -> str | None:
    """Why a new password is not acceptable, or None (length, no stray spaces, not well known, not the e-mail)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return str(_l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    if password.strip() != password or not password.strip():
        return str(_l("The password may not begin or end with spaces."))
    folded = password.casefold()
    local = email.strip().casefold().partition("@")[0]
    if folded in COMMON_PASSWORDS or (len(local) >= 4 and local in folded):
        return str(_l("This password is too easy to guess: avoid well-known passwords and your e-mail address."))
    return None


class LoginLocked(DomainError):
    """Too many failed log-ins for an e-mail address: log-in is refused until the lock runs out."""

    status_code = 429

    def __init__(self, until: datetime, now: datetime):
        minutes = max(1, int((until - now).total_seconds() + 59) // 60)
        super().__init__(str(_l("Too many failed log-ins for this e-mail address: log-in is locked for %(n)d more "
                                "minutes. Try again later, or ask an administrator to set a new password.",
                                n=minutes)))
        self.until = until


class PasswordChecksLocked(DomainError):
    """Too many wrong passwords for an account: no check of its password (log-in, password change, signature)
    is made until the lock runs out, so none of them can be used to go on guessing."""

    status_code = 429

    def __init__(self, until: datetime, now: datetime):
        minutes = max(1, int((until - now).total_seconds() + 59) // 60)
        super().__init__(str(_l("Too many wrong passwords for this account: passwords are not checked for %(n)d "
                                "more minutes (log-in, password change and signatures alike).", n=minutes)))
        self.until = until


def verify_password(session: so.Session, *, user: User, password: str, now: datetime) -> bool:
    """Check the password of a user who is already logged in (password change, signature re-entry).

    Every check counts towards the same lock-out as the log-in form, and while the account's address is
    locked no check is made at all (PasswordChecksLocked). A failure is counted even when the unit of work
    it refused rolls back.
    """
    if (until := locked_until(session, email=user.email, now=now)) is not None:
        raise PasswordChecksLocked(until, now)
    if password and check_password(user, password):
        clear_failures(session, email=user.email)
        if _hasher.check_needs_rehash(user.password_hash):  # made with older parameters: replaced, as at log-in
            user.password_hash = hash_password(password)
        return True
    email = user.email
    _record_failure(session, email=email, now=now)
    keep_after_rollback(session, lambda s: _record_failure(s, email=email, now=now))
    return False


def _throttle_key(email: str) -> str:
    return email.strip().lower()[:254]


def locked_until(session: so.Session, *, email: str, now: datetime) -> datetime | None:
    """Until when log-in with this e-mail address is locked, or None."""
    until = session.scalar(sa.select(LoginThrottle.locked_until).where(LoginThrottle.email == _throttle_key(email)))
    return until if until is not None and until > now else None


def _record_failure(session: so.Session, *, email: str, now: datetime) -> None:
    """Count a failed log-in; the MAX_FAILURES-th within FAILURE_WINDOW locks the address for LOCKOUT."""
    key = _throttle_key(email)
    row = session.scalar(sa.select(LoginThrottle).where(LoginThrottle.email == key))
    if row is None:
        try:
            with session.begin_nested():
                session.add(LoginThrottle(email=key, failures=1, first_failure_at=now, locked_until=None))
            return
        except sa.exc.IntegrityError:  # a concurrent failure created it first
            row = session.scalar(sa.select(LoginThrottle).where(LoginThrottle.email == key))
            if row is None:
                return
    if row.first_failure_at <= now - FAILURE_WINDOW:  # an old streak no longer counts
        row.failures, row.first_failure_at, row.locked_until = 1, now, None
        return
    row.failures = LoginThrottle.failures + 1  # counted in the database: concurrent failures all count
    session.flush()
    session.refresh(row)
    if row.failures >= MAX_FAILURES:
        row.locked_until = now + LOCKOUT
        log.warning("log-in locked for %s after %d failures", key, row.failures)


def clear_failures(session: so.Session, *, email: str) -> None:
    """Forget the failed log-ins of an address (after a successful log-in or a new password)."""
    session.execute(sa.update(LoginThrottle).where(LoginThrottle.email == _throttle_key(email))
                    .values(failures=0, locked_until=None))


def authenticate(session: so.Session, *, email: str, password: str, now: datetime) -> User | None:
    """The active user with this e-mail and password, or None (without saying which part was wrong).

    Raises LoginLocked while the address is locked after repeated failures, whether or not an
    account has it, so the lock tells nobody which addresses exist.
    """
    if (until := locked_until(session, email=email, now=now)) is not None:
        raise LoginLocked(until, now)
    started = time.monotonic()
    user = session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))
    if user is None:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        _record_failure(session, email=email, now=now)
        _answer_no_sooner(started)
        return None
    if not check_password(user, password) or not user.active:
        _record_failure(session, email=email, now=now)
        _answer_no_sooner(started)
        return None
    clear_failures(session, email=email)
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


@dataclass
class UserInput:
    email: str
    name: str
    role: Role
    division_id: int
    timezone: str
    locale: str = "en"
    active: bool = True
    #: Japanese-era dates; None keeps the user's current choice (the administrators' form does not show it).
    era_dates: bool | None = None


def _validate_user(session: so.Session, data: UserInput, *, user_id: int | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not EMAIL_RE.match(data.email.strip()):
        errors["email"] = str(_l("Enter a valid e-mail address."))
    else:
        clash = session.scalar(
            sa.select(User.id).where(sa.func.lower(User.email) == data.email.strip().lower(), User.id != (user_id or -1))
        )
        if clash is not None:
            errors["email"] = str(_l("Another user already has this e-mail address."))
    if not data.name.strip():
        errors["name"] = str(_l("Enter the person's name."))
    if session.get(Division, data.division_id) is None:
        errors["division_id"] = str(_l("Choose a division."))
    if not is_valid_timezone(data.timezone):
        errors["timezone"] = str(_l("Choose a time zone from the list."))
    if data.locale not in ("en", "ja"):
        errors["locale"] = str(_l("Choose English or Japanese."))
    return errors


def create_user(
    session: so.Session, *, data: UserInput, password: str, actor_id: int | None, now: datetime
) -> User:
    """Create a user with a password; audited."""
    errors = _validate_user(session, data, user_id=None)
    if problem := password_problems(password, email=data.email):
        errors["password"] = problem
    if errors:
        raise ValidationFailed(errors)
    user = User(
        email=data.email.strip().lower(),
        name=data.name.strip(),
        role=data.role,
        division_id=data.division_id,
        timezone=data.timezone,
        locale=data.locale,
        era_dates=bool(data.era_dates),
        active=data.active,
        password_hash=hash_password(password),
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session, actor_id=actor_id, entity_type="user", entity_id=user.id, action="created", now=now,
        changes=audit.field_changes({}, audit.snapshot(user, USER_FIELDS)),
    )
    return user


def update_user(
    session: so.Session, *, user_id: int, data: UserInput, new_password: str | None, actor_id: int, now: datetime
) -> User:
    """Change a user's details (and optionally password); audited field by field."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(str(_l("No such user.")))
    errors = _validate_user(session, data, user_id=user_id)
    if new_password and (problem := password_problems(new_password, email=data.email)):
        errors["password"] = problem
    if user_id == actor_id and (not data.active or data.role != user.role):
        errors["role"] = str(_l("You cannot deactivate yourself or change your own role."))
    if errors:
        raise ValidationFailed(errors)
    before = audit.snapshot(user, USER_FIELDS)
    user.email = data.email.strip().lower()
    user.name = data.name.strip()
    user.role = data.role
    user.division_id = data.division_id
    user.timezone = data.timezone
    user.locale = data.locale
    if data.era_dates is not None:
        user.era_dates = data.era_dates
    user.active = data.active
    changes = audit.field_changes(before, audit.snapshot(user, USER_FIELDS))
    if new_password:
        user.password_hash = hash_password(new_password)
        changes["password"] = ["(hidden)", "(changed)"]
        clear_failures(session, email=user.email)  # an administrator's new password also lifts a lock-out
    if new_password or (before["active"] and not user.active):
        changes["sessions"] = _end_sessions(user)
    if changes:
        audit.record(session, actor_id=actor_id, entity_type="user", entity_id=user.id, action="updated",
                     now=now, changes=changes)
    return user


def update_own_preferences(session: so.Session, *, user: User, timezone: str, locale: str, now: datetime,
                           era_dates: bool | None = None) -> User:
    """A user's own time zone, language and calendar (era_dates None: unchanged); audited."""
    data = UserInput(email=user.email, name=user.name, role=user.role, division_id=user.division_id,
                     timezone=timezone, locale=locale, active=user.active, era_dates=era_dates)
    return update_user(session, user_id=user.id, data=data, new_password=None, actor_id=user.id, now=now)


def change_own_password(session: so.Session, *, user: User, current: str, new: str, now: datetime,
                        revoke_tokens: bool = False) -> None:
    """Change one's own password after proving the current one. Every other session of the user ends (the
    caller carries the current one over with session_version); with revoke_tokens, so do the API tokens."""
    errors: dict[str, str] = {}
    try:
        if not verify_password(session, user=user, password=current, now=now):
            errors["current_password"] = str(_l("The current password is not correct."))
    except PasswordChecksLocked as locked:
        errors["current_password"] = str(locked)
    if problem := password_problems(new, email=user.email):
        errors["new_password"] = problem
    if errors:
        raise ValidationFailed(errors)
    user.password_hash = hash_password(new)
    changes = {"password": ["(hidden)", "(changed)"], "sessions": _end_sessions(user)}
    if revoke_tokens:
        from qa_incidents.api.tokens import revoke_all

        changes["api_tokens"] = ["(live)", f"{revoke_all(session, user=user, now=now)} revoked"]
    audit.record(session, actor_id=user.id, entity_type="user", entity_id=user.id, action="password_changed",
                 now=now, changes=changes)


def _end_sessions(user: User) -> list[str]:
    """Raise the user's session version, which ends every session begun under the old one (an audit change)."""
    user.session_version = (user.session_version or 1) + 1
    return ["(open)", "(ended)"]


def end_sessions(session: so.Session, *, user: User, actor_id: int, now: datetime, action: str) -> None:
    """End every session of the user at once (log-out, or an administrator's "sign out everywhere"); audited."""
    audit.record(session, actor_id=actor_id, entity_type="user", entity_id=user.id, action=action, now=now,
                 changes={"sessions": _end_sessions(user)})


def sign_out_everywhere(session: so.Session, *, user_id: int, actor_id: int, now: datetime) -> User:
    """An administrator ends every session of a user at once."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(str(_l("No such user.")))
    end_sessions(session, user=user, actor_id=actor_id, now=now, action="signed_out_everywhere")
    return user


def addresses(session: so.Session, *, roles: set[Role], division_id: int | None = None) -> list[str]:
    """E-mail addresses of the active users with these roles (in one division, or all)."""
    stmt = sa.select(User.email).where(User.role.in_(roles), User.active.is_(True))
    if division_id is not None:
        stmt = stmt.where(User.division_id == division_id)
    return list(session.scalars(stmt.order_by(User.email)))


def people(session: so.Session, *, roles: set[Role], division_id: int | None = None) -> list[Recipient]:
    """The active users with these roles (in one division, or all) as mail recipients, with how each reads."""
    stmt = sa.select(User).where(User.role.in_(roles), User.active.is_(True))
    if division_id is not None:
        stmt = stmt.where(User.division_id == division_id)
    return [as_recipient(u) for u in session.scalars(stmt.order_by(User.email))]


def people_by_email(session: so.Session, emails: list[str]) -> list[Recipient]:
    """Addresses as mail recipients: a user's with how they read, any other address (a distribution list's) in the
    default language."""
    wanted = [e.strip() for e in emails if e and e.strip()]
    users = {u.email.lower(): u for u in session.scalars(
        sa.select(User).where(sa.func.lower(User.email).in_({e.lower() for e in wanted}), User.active.is_(True)))}
    return [as_recipient(users[e.lower()]) if e.lower() in users else Recipient(e) for e in wanted]


def as_recipient(user: User) -> Recipient:
    return Recipient(user.email, language=user.locale, timezone=user.timezone, era_dates=bool(user.era_dates))


def list_users(session: so.Session) -> list[User]:
    return list(session.scalars(sa.select(User).order_by(User.active.desc(), User.name)))


# --- divisions -------------------------------------------------------------------------


@dataclass
class DivisionInput:
    code: str
    name: str
    is_head_office: bool = False
    active: bool = True


def _validate_division(session: so.Session, data: DivisionInput, *, division_id: int | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    code = data.code.strip().upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9-]{0,15}", code):
        errors["code"] = str(_l("Use 1 to 16 letters, digits or hyphens."))
    elif session.scalar(sa.select(Division.id).where(Division.code == code, Division.id != (division_id or -1))):
        errors["code"] = str(_l("Another division already has this code."))
    if not data.name.strip():
        errors["name"] = str(_l("Enter the division's name."))
    elif session.scalar(
        sa.select(Division.id).where(Division.name == data.name.strip(), Division.id != (division_id or -1))
    ):
        errors["name"] = str(_l("Another division already has this name."))
    return errors


def create_division(session: so.Session, *, data: DivisionInput, actor_id: int | None, now: datetime) -> Division:
    """Create a division; audited."""
    if errors := _validate_division(session, data, division_id=None):
        raise ValidationFailed(errors)
    division = Division(code=data.code.strip().upper(), name=data.name.strip(), is_head_office=data.is_head_office,
                        active=data.active, created_at=now)
    session.add(division)
    session.flush()
    audit.record(session, actor_id=actor_id, entity_type="division", entity_id=division.id, action="created",
                 now=now, changes=audit.field_changes({}, audit.snapshot(division, DIVISION_FIELDS)))
    return division


def update_division(session: so.Session, *, division_id: int, data: DivisionInput, actor_id: int, now: datetime) -> Division:
    """Rename, recode or (de)activate a division; audited."""
    division = session.get(Division, division_id)
    if division is None:
        raise NotFound(str(_l("No such division.")))
    if errors := _validate_division(session, data, division_id=division_id):
        raise ValidationFailed(errors)
    before = audit.snapshot(division, DIVISION_FIELDS)
    division.code = data.code.strip().upper()
    division.name = data.name.strip()
    division.is_head_office = data.is_head_office
    division.active = data.active
    if changes := audit.field_changes(before, audit.snapshot(division, DIVISION_FIELDS)):
        audit.record(session, actor_id=actor_id, entity_type="division", entity_id=division.id, action="updated",
                     now=now, changes=changes)
    return division


def list_divisions(session: so.Session, *, active_only: bool = False) -> list[Division]:
    stmt = sa.select(Division).order_by(Division.is_head_office.desc(), Division.name)
    if active_only:
        stmt = stmt.where(Division.active.is_(True))
    return list(session.scalars(stmt))
