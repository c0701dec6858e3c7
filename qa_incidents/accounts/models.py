"""Tables for divisions and users."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.core.clock import utcnow
from qa_incidents.core.db import Base
from qa_incidents.core.permissions import Actor, Role

#: The key of the session cookie that holds the user's session version at log-in.
SESSION_VERSION_KEY = "sv"


class Division(Base):
    """A business division; head office is a division too."""

    __tablename__ = "division"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(16), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120), unique=True)
    is_head_office: so.Mapped[bool] = so.mapped_column(default=False)
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Division {self.code}>"


class User(Base):
    """A person who logs in. Never deleted: deactivated instead."""

    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    role: so.Mapped[Role] = so.mapped_column(sa.Enum(Role, native_enum=False, length=32, validate_strings=True))
    division_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("division.id"), index=True)
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="Asia/Tokyo")
    locale: so.Mapped[str] = so.mapped_column(sa.String(8), default="en")
    #: Dates written in the Japanese era (令和8年11月29日) where the user reads Japanese.
    era_dates: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    last_login_at: so.Mapped[datetime | None]
    #: Every session carries the version it began under; raising it (log-out, password change, deactivation,
    #: an administrator's "sign out everywhere") ends every session of the user at once, cookies captured included.
    session_version: so.Mapped[int] = so.mapped_column(default=1, server_default="1")

    division: so.Mapped[Division] = so.relationship(lazy="joined")

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def actor(self) -> Actor:
        """The access-decision view of this user."""
        return Actor(id=self.id, role=self.role, division_id=self.division_id)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class LoginThrottle(Base):
    """Failed log-ins per e-mail address (known or not, so a lock-out never tells which addresses exist)."""

    __tablename__ = "login_throttle"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    failures: so.Mapped[int] = so.mapped_column(default=0)
    first_failure_at: so.Mapped[datetime]
    locked_until: so.Mapped[datetime | None]
