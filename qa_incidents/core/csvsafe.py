"""CSV for spreadsheets: every file the application writes as CSV goes through here.

A cell a spreadsheet program would run as a formula (OWASP's rule: text starting with =, +, -, @, a tab or a
carriage return, e.g. `-2+3+cmd|' /C calc'!A0`) is written with a leading apostrophe, which keeps it text.
Numbers stay numbers; `restore` takes the apostrophe off again when a file is read back."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """The cell as written: text a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def restore(value: str) -> str:
    """A cell read back from one of our CSV files: the apostrophe neutralise added, taken off."""
    if value.startswith("'") and neutralise(value[1:]) == value:
        return value[1:]
    return value


class Writer:
    """csv.writer whose every cell is neutralised."""

    def __init__(self, out: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralise(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class DictWriter(csv.DictWriter):  # type: ignore[type-arg]
    """csv.DictWriter whose every cell is neutralised (the header too: writeheader goes through writerow)."""

    def writerow(self, rowdict: Any) -> Any:
        return super().writerow({k: neutralise(v) for k, v in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Any]) -> None:  # csv.DictWriter's own would bypass writerow
        for rowdict in rowdicts:
            self.writerow(rowdict)


def text(header: Sequence[Any], rows: Iterable[Sequence[Any]], *, lineterminator: str = "\r\n") -> str:
    """A whole CSV text: the header, then the rows."""
    out = io.StringIO()
    writer = Writer(out, lineterminator=lineterminator)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
