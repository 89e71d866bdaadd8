"""Read an upload and decode it, whatever it is: FIT, TCX or GPX, each possibly gzipped.

The format is found from the content, never from the file name. Size is limited while reading: the raw
upload and, for gzip, the decompressed data, which is inflated piece by piece and refused as soon as it
passes the limit, so a gzip bomb costs no more memory than the limit itself.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from typing import BinaryIO

from trainerday_server.activities.recording import Recording
from trainerday_server.errors import ActivityFileError, PayloadTooLarge

from .fit import decode_fit
from .gpx import decode_gpx
from .tcx import decode_tcx
from .xmlfile import root_name

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_CHUNK_BYTES = 256 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True, slots=True)
class DecodedUpload:
    original: bytes  # exactly the bytes uploaded, to store and to serve back unchanged
    format: str  # "fit" | "tcx" | "gpx"
    gzipped: bool  # whether ``original`` is gzip-compressed
    recording: Recording


def decode_upload(source: bytes | BinaryIO, max_bytes: int = DEFAULT_MAX_BYTES) -> DecodedUpload:
    """Read (bytes or a binary stream), decompress and decode an uploaded activity file.

    Raises PayloadTooLarge (413) past ``max_bytes``, raw or decompressed, and ActivityFileError (400) for
    anything that is not a usable FIT, TCX or GPX activity.
    """
    notes: list[str] = []
    original, content = read_upload(source, max_bytes, notes)
    try:
        recording = decode_activity(content)
    except ActivityFileError as refused:
        if not notes:
            raise
        raise ActivityFileError(f"{'; '.join(notes)}, and {refused.detail}", extra=refused.extra) from None
    if notes:
        recording.warnings[:0] = notes
    return DecodedUpload(original, recording.format, content is not original, recording)


def read_upload(
    source: bytes | BinaryIO, max_bytes: int = DEFAULT_MAX_BYTES, notes: list[str] | None = None
) -> tuple[bytes, bytes]:
    """The upload as sent and its content: gunzipped if it is gzip, else the very same bytes object.

    Gzip data cut short or damaged gives what inflated before the damage (a head unit's or a transfer's
    truncated ``.fit.gz`` still holds most of the ride), with a note in ``notes``; the decoder then
    salvages the records in it."""
    received: list[bytes] = []

    def counted() -> Iterator[bytes]:
        size = 0
        for chunk in _chunks(source):
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"the upload is larger than the limit of {max_bytes:,} bytes")
            received.append(chunk)
            yield chunk

    chunks = counted()
    head = b""
    for chunk in chunks:  # enough of the start to recognise gzip, whatever the stream's chunk sizes
        head += chunk
        if len(head) >= len(_GZIP_MAGIC):
            break
    if head.startswith(_GZIP_MAGIC):
        content = _gunzip(chain([head], chunks), max_bytes, [] if notes is None else notes)
        return b"".join(received), content
    for _ in chunks:
        pass
    original = b"".join(received)
    return original, original


def decode_activity(content: bytes) -> Recording:
    """Decode an activity file's (decompressed) content, recognising its format from the content."""
    if not content or content.isspace():
        raise ActivityFileError("the file is empty")
    if content[8:12] == b".FIT":
        return decode_fit(content)
    start = content[:4096].removeprefix(_UTF8_BOM).lstrip()
    if start.startswith(b"<") or content.startswith(_UTF16_BOMS):
        name = root_name(content)
        if name == "TrainingCenterDatabase":
            return decode_tcx(content)
        if name == "gpx":
            return decode_gpx(content)
        raise ActivityFileError(f"an XML document with root element <{name}> is neither TCX nor GPX")
    hint = " (a ZIP archive: upload the activity file inside it)" if content.startswith(b"PK\x03\x04") else ""
    raise ActivityFileError(
        f"not a FIT, TCX or GPX file{hint}: it starts with bytes {content[:8].hex(' ')}",
        extra={"offset": 0},
    )


def _chunks(source: bytes | BinaryIO) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)
        for start in range(0, len(view), _CHUNK_BYTES):
            yield bytes(view[start : start + _CHUNK_BYTES])
        return
    while chunk := source.read(_CHUNK_BYTES):
        yield chunk


def _gunzip(chunks: Iterator[bytes], max_bytes: int, notes: list[str]) -> bytes:
    """Inflate gzip data (several members allowed, trailing zeros ignored), never past ``max_bytes``; data
    cut short or damaged gives what inflated before, with a note (nothing inflated: refused)."""
    out = bytearray()
    compressed = 0
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        for chunk in chunks:
            compressed += len(chunk)
            pending = chunk
            while pending:
                if inflater.eof:
                    if not pending.strip(b"\0"):
                        break
                    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # the next gzip member
                out += inflater.decompress(pending, max_bytes + 1 - len(out))
                if len(out) > max_bytes:
                    raise PayloadTooLarge(
                        f"the file is larger than the limit of {max_bytes:,} bytes once decompressed"
                    )
                pending = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
    except zlib.error as exc:
        if not out:
            raise ActivityFileError(f"the gzip data is damaged: {exc}") from None
        notes.append(f"the gzip data is damaged ({exc}); the {len(out):,} bytes inflated before it were read")
        return bytes(out)
    if not inflater.eof:
        if not out:
            raise ActivityFileError(
                "the gzip data is truncated: the file ends before the compressed data does"
            )
        out += inflater.flush()  # whatever the inflater still holds
        notes.append(
            f"the gzip data is truncated after {compressed:,} bytes; "
            f"the {len(out):,} bytes it inflates to were read"
        )
        return bytes(out)
    if not out:
        raise ActivityFileError("the gzip file is empty")
    return bytes(out)
