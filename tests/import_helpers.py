"""Rows of the `qa-incidents-register` import profile, for the import tests."""

from __future__ import annotations

import csv
import io


def register_csv(rows: list[dict[str, str]]) -> bytes:
    """The rows as a CSV file, the first row's keys as its header."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def register_row(**changes: str) -> dict[str, str]:
    """One valid register row (a melted door seal in Nagoya, no one hurt), with `changes` applied."""
    row = {"reference": "EXT-1", "division": "HA", "product": "R-HW540", "title": "Door seal melted",
           "lot_numbers": "L1", "serial_numbers": "", "country": "JP", "place": "Nagoya",
           "occurred_at": "2026-11-01T10:00:00+09:00", "aware_at": "2026-11-02T09:00:00+09:00",
           "source": "service_report", "hazard": "overheating", "deaths": "0", "serious_injuries": "0",
           "minor_injuries": "0", "fire": "false", "smoke": "true", "co_poisoning": "false",
           "property_damage": "false", "no_harm": "false", "units_in_field": "2000", "description": "Seal deformed."}
    row.update(changes)
    return row
