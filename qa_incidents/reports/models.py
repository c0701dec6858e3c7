"""Tables of status reports."""

from __future__ import annotations
