"""Configuration classes; every setting can come from the environment."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("QA_INSTANCE_DIR", BASE_DIR / "instance"))


def _secret_key(instance_dir: Path) -> str:
    """The secret key from SECRET_KEY, else one generated once and kept in instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance_dir / "secret_key"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        # Written with owner-only permissions: whoever holds it can forge sessions.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


class Config:
    """Production-like defaults, read from the environment."""

    INSTANCE_DIR = INSTANCE_DIR
    DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'qa_incidents.sqlite3'}")
    ATTACHMENT_DIR = Path(os.environ.get("ATTACHMENT_DIR", INSTANCE_DIR / "attachments"))
    ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024))
    # The request limit leaves room for the form fields around the largest allowed file.
    MAX_CONTENT_LENGTH = ATTACHMENT_MAX_BYTES + 1024 * 1024
    # Imports: what an uploaded file may hold once uncompressed (.gz), and how many rows.
    IMPORT_MAX_INFLATED_BYTES = int(os.environ.get("IMPORT_MAX_INFLATED_BYTES", 100 * 1024 * 1024))
    IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", 200_000))
    REGISTER_PAGE_SIZE = int(os.environ.get("REGISTER_PAGE_SIZE", 50))
    # Every this many requests a worker hands its C heap's free memory back to the system (core/heap.py); 0: never.
    HEAP_TRIM_EVERY = int(os.environ.get("HEAP_TRIM_EVERY", 200))
    # Each response reports how many of its kept-value lookups memory answered (X-Cache-Lookups); `make bench`
    # turns it on to print each scenario's cache hit rate. Off in production: it says nothing a user needs.
    CACHE_STATS = os.environ.get("CACHE_STATS", "0") == "1"
    DEFAULT_TIMEZONE = os.environ.get("DEFAULT_TIMEZONE", "Asia/Tokyo")
    BABEL_DEFAULT_LOCALE = os.environ.get("BABEL_DEFAULT_LOCALE", "en")
    LANGUAGES = ("en", "ja")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # a long incident report must not expire while it is being typed
    # E-mail: "log" writes messages to the log (development); "smtp" sends them.
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "log")
    SMTP_HOST = os.environ.get("SMTP_HOST", "127.0.0.1")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", 25))
    MAIL_FROM = os.environ.get("MAIL_FROM", "qa-incidents@localhost")
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    # Run the scheduler inside the web process (single-process development server only).
    SCHEDULER_IN_PROCESS = os.environ.get("SCHEDULER_IN_PROCESS", "0") == "1"
    # SLA hours by severity (JSON to override), and the share of the time after which a warning goes out.
    TRIAGE_SLA_HOURS = json.loads(os.environ.get("TRIAGE_SLA_HOURS", '{"S1": 4, "S2": 24, "S3": 72, "S4": 168}'))
    ESCALATION_SLA_HOURS = json.loads(os.environ.get("ESCALATION_SLA_HOURS", '{"S1": 24, "S2": 24, "S3": 72, "S4": 72}'))
    SLA_WARN_AT = float(os.environ.get("SLA_WARN_AT", 0.75))
    # When the owner of a regulator notification is warned: share of the time used, hours before the deadline.
    # Overdue notices to head-office QA are always sent.
    NOTIFICATION_WARN_AT = os.environ.get("NOTIFICATION_WARN_AT", "50%,24h,4h")
    # Status reports to top management: minutes a triggered report waits for the division's narrative,
    # hours between scheduled updates by severity (JSON), hours before an unacknowledged S1 report escalates,
    # and the time zone the report's times are written in.
    REPORT_HOLD_MINUTES = int(os.environ.get("REPORT_HOLD_MINUTES", 30))
    DECISION_DAYS = int(os.environ.get("DECISION_DAYS", 10))
    REPORT_CADENCE_HOURS = json.loads(os.environ.get("REPORT_CADENCE_HOURS", '{"S1": 24, "S2": 168}'))
    REPORT_ACK_ESCALATE_HOURS = float(os.environ.get("REPORT_ACK_ESCALATE_HOURS", 4))
    REPORT_TIMEZONE = os.environ.get("REPORT_TIMEZONE", "Asia/Tokyo")
    # Days before an amendment's enforcement date at which affected divisions are told.
    LAW_ALERT_DAYS = tuple(int(d) for d in os.environ.get("LAW_ALERT_DAYS", "90,30,7").split(","))
    # API tokens: days a new token lives unless its owner chooses fewer, and the most an owner may choose.
    API_TOKEN_DAYS = int(os.environ.get("API_TOKEN_DAYS", 90))
    API_TOKEN_MAX_DAYS = int(os.environ.get("API_TOKEN_MAX_DAYS", 365))
    TESTING = False

    def __init__(self) -> None:
        self.SECRET_KEY = _secret_key(Path(self.INSTANCE_DIR))


class TestConfig(Config):
    """For the test suite: a throw-away database given by the fixture, fast hashing."""

    TESTING = True
    DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    PASSWORD_HASH_FAST = True
    MAIL_BACKEND = "log"
    SCHEDULER_IN_PROCESS = False

    def __init__(self) -> None:
        self.SECRET_KEY = "test-only-" + secrets.token_hex(8)
