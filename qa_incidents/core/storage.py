"""Content-addressed file storage for attachments, outside static/.

A file is stored once under its SHA-256; its type is decided from its bytes, never from the
name or the browser's claim.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import filetype

#: Types we name when serving; anything else is served as opaque bytes.
SAFE_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/tiff",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/msword",
    "application/vnd.ms-excel",
    "video/mp4",
    "video/quicktime",
    "audio/mpeg",
    "text/plain",
}


class TooLarge(Exception):
    """The upload is over the size limit."""


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    content_type: str


def sniff_type(head: bytes) -> str:
    """The content type read from a file's first bytes; text only if it is valid UTF-8 without NULs."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime if kind.mime in SAFE_TYPES else "application/octet-stream"
    try:
        # final=False: a multi-byte character cut at the end of the sample is still text, but a
        # byte that can never occur in UTF-8 (e.g. 0xFF) is not, even among the last three.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain" if b"\x00" not in head else "application/octet-stream"


class Storage:
    """Files under root/ab/cd/<sha256>."""

    def __init__(self, root: Path, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, stream: BinaryIO) -> StoredFile:
        """Store a stream, hashing it as it is written; refuse it past the size limit."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        head = b""
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(1024 * 1024):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise TooLarge(f"larger than {self.max_bytes} bytes")
                    if len(head) < 8192:
                        head += chunk[: 8192 - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
            sha = digest.hexdigest()
            final = self.path_for(sha)
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                os.unlink(tmp)
            else:
                os.replace(tmp, final)
            return StoredFile(sha256=sha, size=size, content_type=sniff_type(head))
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
