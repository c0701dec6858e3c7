"""Notification records: one per (incident, obligation), from required to acknowledged."""

from __future__ import annotations
