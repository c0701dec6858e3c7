"""Tables of recalls."""

from __future__ import annotations
