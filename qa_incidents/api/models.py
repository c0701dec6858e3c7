"""Tables of api."""

from __future__ import annotations
