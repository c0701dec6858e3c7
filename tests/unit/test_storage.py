"""Attachment storage: types decided by content, files stored once by hash, limits enforced."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from qa_incidents.core.storage import Storage, TooLarge, sniff_type

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "content, expected",
    [
        (PNG, "image/png"),
        (PDF, "application/pdf"),
        (b"GIF89a\x01\x00\x01\x00", "image/gif"),
        (b"Lot L2611-07, serials 1001-1040\n", "text/plain"),
        ("製品事故報告: 冷蔵庫の発火\n".encode(), "text/plain"),
    ],
)
def test_sniff_type_by_content(content, expected):
    assert sniff_type(content) == expected


@pytest.mark.parametrize("name_suggests", ["report.pdf", "photo.png"])
def test_the_name_plays_no_part(name_suggests):
    # sniff_type sees only bytes; plain text named like a PDF or PNG is still text.
    assert sniff_type(f"not really {name_suggests}".encode()) == "text/plain"


@pytest.mark.parametrize(
    "html",
    [
        b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>",
        b"<html><head><meta http-equiv='refresh' content='0;url=https://evil.example'></head></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    ],
)
def test_html_is_never_served_as_html(html):
    assert sniff_type(html) in {"text/plain", "application/octet-stream"}


@pytest.mark.parametrize(
    "junk",
    [
        bytes(range(256)),
        b"\x00\x01\x02\x03",
        b"\xff\xfe\xfd\xfc",  # bytes that never occur in UTF-8
        b"plain start then \xff\xfe\xfd",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00",  # a Windows executable's header
        b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56,  # a Linux executable's header
    ],
)
def test_binary_junk_is_opaque_bytes(junk):
    assert sniff_type(junk) == "application/octet-stream"


def test_a_character_cut_at_the_end_of_the_sample_is_still_text():
    sample = ("冷蔵庫" * 10).encode()[:-1]  # the sample ends in the middle of a character
    assert sniff_type(sample) == "text/plain"


def test_put_is_content_addressed_and_stores_once(tmp_path):
    storage = Storage(tmp_path, max_bytes=1024)
    first = storage.put(io.BytesIO(PNG))
    second = storage.put(io.BytesIO(PNG))
    assert first == second
    assert first.sha256 == hashlib.sha256(PNG).hexdigest()
    assert first.size == len(PNG)
    assert first.content_type == "image/png"
    path = storage.path_for(first.sha256)
    assert path == tmp_path / first.sha256[:2] / first.sha256[2:4] / first.sha256
    assert path.read_bytes() == PNG
    assert files_under(tmp_path) == [path]  # one copy, no temporary files left behind


def test_different_bytes_go_to_different_paths(tmp_path):
    storage = Storage(tmp_path, max_bytes=1024)
    a = storage.put(io.BytesIO(b"first file"))
    b = storage.put(io.BytesIO(b"second file"))
    assert a.sha256 != b.sha256
    assert files_under(tmp_path) == sorted([storage.path_for(a.sha256), storage.path_for(b.sha256)])


def test_a_file_exactly_at_the_limit_is_accepted(tmp_path):
    stored = Storage(tmp_path, max_bytes=100).put(io.BytesIO(b"a" * 100))
    assert stored.size == 100


def test_too_large_leaves_no_partial_file(tmp_path):
    storage = Storage(tmp_path, max_bytes=100)
    with pytest.raises(TooLarge):
        storage.put(io.BytesIO(b"a" * 101))
    assert files_under(tmp_path) == []


def test_too_large_is_detected_across_chunks(tmp_path):
    storage = Storage(tmp_path, max_bytes=3 * 1024 * 1024)
    with pytest.raises(TooLarge):
        storage.put(io.BytesIO(b"\x00" * (3 * 1024 * 1024 + 1)))
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABCDEF" * 10 + "ABCD", "0" * 63, "g" * 64])
def test_path_for_accepts_only_sha256_digests(tmp_path, bad):
    with pytest.raises(ValueError):
        Storage(tmp_path, max_bytes=10).path_for(bad)
