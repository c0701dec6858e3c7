"""What both protocols hand over after a successful sign-in, and how they fail."""

from __future__ import annotations

from dataclasses import dataclass, field


class SignInFailed(Exception):
    """The provider's answer was refused (tampered, expired, replayed, for someone else...): nobody is signed in.

    The message is for the log; users see a plain sentence."""


@dataclass
class Identity:
    subject: str
    email: str
    name: str
    groups: list[str] = field(default_factory=list)
    division_values: list[str] = field(default_factory=list)
    email_verified: bool = True
    #: When the provider says the person authenticated (epoch seconds), where it says.
    authenticated_at: float | None = None
    #: What the provider's log-out needs (the ID token for OIDC; "name_id|session_index" for SAML).
    logout_hint: str = ""
