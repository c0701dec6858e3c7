"""Decompression bombs and huge files: a .csv.gz is inflated a piece at a time and refused past the limits, with a
message that says so; the mapping page works from what was kept at upload, not from the whole file again."""

from __future__ import annotations

import gzip
import io
import time
import zlib

import pytest
from test_import_views import GOOD, _upload
from view_helpers import text

from qa_incidents.api import importer


def _bomb(inflated_mb: int) -> bytes:
    """A gzip file of a CSV header and inflated_mb MB of blank lines, compressed a megabyte at a time."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as stream:
        stream.write(b"reference,title\n")
        chunk = b"\n" * (1024 * 1024)
        for _ in range(inflated_mb):
            stream.write(chunk)
    return out.getvalue()


def test_a_decompression_bomb_is_refused_before_it_inflates(monkeypatch):  # type: ignore[no-untyped-def]
    bomb = _bomb(300)
    assert len(bomb) < 400 * 1024
    inflated = []
    real = importer.gzip.GzipFile.read

    def read(self, size=-1):  # type: ignore[no-untyped-def]
        piece = real(self, size)
        inflated.append(len(piece))
        return piece

    monkeypatch.setattr(importer.gzip.GzipFile, "read", read)
    started = time.monotonic()
    with pytest.raises(importer.ImportFileError, match=r"inflates to more than 8 MB when uncompressed"):
        importer.read_file("bomb.csv.gz", bomb, max_bytes=8 * 1024 * 1024)
    assert sum(inflated) <= 9 * 1024 * 1024 and max(inflated) <= 1024 * 1024  # never all of it at once
    assert time.monotonic() - started < 5


def test_too_many_rows_are_refused_and_the_error_says_so():  # type: ignore[no-untyped-def]
    content = gzip.compress(b"reference,title\n" + b"R,t\n" * 1001)
    with pytest.raises(importer.ImportFileError, match=r"more than 1,000 rows"):
        importer.read_file("many.csv.gz", content, max_rows=1000)
    assert len(importer.read_file("many.csv.gz", content, max_rows=1001).rows) == 1001


def test_not_gzip_is_refused(monkeypatch):  # type: ignore[no-untyped-def]
    with pytest.raises(importer.ImportFileError, match="not valid gzip"):
        importer.read_file("x.csv.gz", b"\x1f\x8b" + zlib.compress(b"nothing"))


def test_the_upload_page_says_what_the_limit_is(login_as, client, app):  # type: ignore[no-untyped-def]
    app.config["IMPORT_MAX_INFLATED_BYTES"] = 4 * 1024 * 1024
    login_as("reporter@example.com")
    refused = _upload(client, _bomb(40), "bomb.csv.gz", "qa-incidents-register")
    assert refused.status_code == 422
    assert "inflates to more than 4 MB when uncompressed" in text(refused)


def test_the_mapping_page_does_not_read_the_upload_again(login_as, client, monkeypatch):  # type: ignore[no-untyped-def]
    login_as("reporter@example.com")
    uploaded = _upload(client, gzip.compress(GOOD.encode()), "callcentre.csv.gz", "qa-incidents-register")
    assert uploaded.status_code == 302

    def refuse(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the whole upload was read again")

    monkeypatch.setattr(importer, "read_file", refuse)
    for _ in range(3):
        page = client.get(uploaded.headers["Location"])
        assert page.status_code == 200
        assert "2 rows read" in text(page) and "Will be rejected" in text(page)
