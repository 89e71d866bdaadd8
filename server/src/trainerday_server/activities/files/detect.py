"""Read an upload and decode it, whatever it is: FIT, TCX or GPX, each possibly gzipped.

The format is found from the content, never from the file name. Size is limited while reading: the raw
upload and, for gzip, the decompressed data, which is inflated piece by piece and refused as soon as it
passes the limit. A gzipped TCX or GPX goes into the XML parser piece by piece as it inflates and is never
held whole; a gzipped FIT (read at offsets) is held once, inflated, never also in pieces or a copy.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import BinaryIO

from trainerday_server.activities.recording import Recording
from trainerday_server.errors import ActivityFileError, PayloadTooLarge

from .fit import decode_fit
from .gpx import GPX
from .tcx import TCX
from .xmlfile import decode_points

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_CHUNK_BYTES = 256 * 1024
_PIECE_BYTES = 64 * 1024  # of inflated data at a time
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
    anything that is not a usable FIT, TCX or GPX activity. A gzipped TCX or GPX is inflated into the XML
    parser piece by piece, never held whole: only the upload as sent is.
    """
    notes: list[str] = []
    received = io.BytesIO()
    chunks = _received(source, max_bytes, received)
    head, chunks = _peek(chunks, len(_GZIP_MAGIC))
    gzipped = head.startswith(_GZIP_MAGIC)
    content: bytes | Iterator[bytes]
    if gzipped:
        content = _inflate(chain((head,), chunks), max_bytes, notes)
    else:
        for _ in chunks:
            pass
        content = received.getvalue()
    try:
        recording = decode_activity(content)
    except ActivityFileError as refused:
        if not notes:
            raise
        raise ActivityFileError(f"{'; '.join(notes)}, and {refused.detail}", extra=refused.extra) from None
    for _ in chunks:  # whatever the decoder left unread (nothing, unless it stopped early)
        pass
    if notes:
        recording.warnings[:0] = notes
    return DecodedUpload(received.getvalue(), recording.format, gzipped, recording)


def read_upload(
    source: bytes | BinaryIO, max_bytes: int = DEFAULT_MAX_BYTES, notes: list[str] | None = None
) -> tuple[bytes, bytes]:
    """The upload as sent and its content: gunzipped if it is gzip, else the very same bytes object.

    Gzip data cut short or damaged gives what inflated before the damage (a head unit's or a transfer's
    truncated ``.fit.gz`` still holds most of the ride), with a note in ``notes``; the decoder then
    salvages the records in it."""
    received = io.BytesIO()
    head, chunks = _peek(_received(source, max_bytes, received), len(_GZIP_MAGIC))
    if head.startswith(_GZIP_MAGIC):
        content = _joined(_inflate(chain((head,), chunks), max_bytes, [] if notes is None else notes))
        return received.getvalue(), content
    for _ in chunks:
        pass
    original = received.getvalue()
    return original, original


def decode_activity(content: bytes | Iterable[bytes]) -> Recording:
    """Decode an activity file's (decompressed) content, recognising its format from the content: bytes,
    or its pieces in order. A TCX or GPX is parsed as the pieces come; anything else (a FIT is read at
    offsets) is joined first, so that what is too large is refused as such."""
    pieces = iter((content,)) if isinstance(content, bytes) else iter(content)
    head, rest = _peek(pieces, 4096)
    start = head[:4096].removeprefix(_UTF8_BOM).lstrip()
    if head[8:12] != b".FIT" and (start.startswith(b"<") or head.startswith(_UTF16_BOMS)):
        return decode_points(chain((head,), rest), (TCX, GPX))
    data = content if isinstance(content, bytes) else _joined(chain((head,), rest))
    if not data or data.isspace():
        raise ActivityFileError("the file is empty")
    if data[8:12] == b".FIT":
        return decode_fit(data)
    hint = " (a ZIP archive: upload the activity file inside it)" if data.startswith(b"PK\x03\x04") else ""
    raise ActivityFileError(
        f"not a FIT, TCX or GPX file{hint}: it starts with bytes {data[:8].hex(' ')}",
        extra={"offset": 0},
    )


def _received(source: bytes | BinaryIO, max_bytes: int, received: io.BytesIO) -> Iterator[bytes]:
    """The upload's chunks as they are read, each also written to ``received`` (a BytesIO, whose
    ``getvalue`` hands over its buffer without a copy); PayloadTooLarge past ``max_bytes``."""
    size = 0
    for chunk in _chunks(source):
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"the upload is larger than the limit of {max_bytes:,} bytes")
        received.write(chunk)
        yield chunk


def _peek(chunks: Iterator[bytes], size: int) -> tuple[bytes, Iterator[bytes]]:
    """At least ``size`` bytes from the start (all there are, if fewer), whatever the pieces' sizes, and
    the pieces after them. A single piece is handed back as it is, not copied."""
    head = b""
    for chunk in chunks:
        head = head + chunk if head else chunk
        if len(head) >= size:
            break
    return head, chunks


def _joined(pieces: Iterable[bytes]) -> bytes:
    """The pieces as one bytes object, never held twice: BytesIO grows its buffer in place and getvalue
    hands it over (where b"".join would hold the pieces and the result together)."""
    buffer = io.BytesIO()
    for piece in pieces:
        buffer.write(piece)
    return buffer.getvalue()


def _chunks(source: bytes | BinaryIO) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)
        for start in range(0, len(view), _CHUNK_BYTES):
            yield bytes(view[start : start + _CHUNK_BYTES])
        return
    while chunk := source.read(_CHUNK_BYTES):
        yield chunk


def _inflate(chunks: Iterator[bytes], max_bytes: int, notes: list[str]) -> Iterator[bytes]:
    """Inflate gzip data (several members allowed, trailing zeros ignored) into pieces of at most
    _PIECE_BYTES, never past ``max_bytes`` in all; data cut short or damaged ends with what inflated
    before, with a note added to ``notes`` before the last piece (nothing inflated: refused)."""
    size = compressed = 0
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    for chunk in chunks:
        compressed += len(chunk)
        pending = chunk
        while True:
            if inflater.eof:
                if not pending.strip(b"\0"):
                    break
                inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # the next gzip member
            try:
                # Bounded, so that a few kB that inflate to megabytes come out a piece at a time.
                piece = inflater.decompress(pending, _PIECE_BYTES)
            except zlib.error as exc:
                if not size:
                    raise ActivityFileError(f"the gzip data is damaged: {exc}") from None
                notes.append(
                    f"the gzip data is damaged ({exc}); the {size:,} bytes inflated before it were read"
                )
                return
            size += len(piece)
            if size > max_bytes:
                raise PayloadTooLarge(
                    f"the file is larger than the limit of {max_bytes:,} bytes once decompressed"
                )
            if piece:
                yield piece
            pending = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
            # A full piece may leave output inside zlib with no input left: ask again until it is drained.
            if not pending and len(piece) < _PIECE_BYTES:
                break
    if not inflater.eof:
        if not size:
            raise ActivityFileError(
                "the gzip data is truncated: the file ends before the compressed data does"
            )
        rest = inflater.flush()  # whatever the inflater still holds
        size += len(rest)
        if size > max_bytes:
            raise PayloadTooLarge(
                f"the file is larger than the limit of {max_bytes:,} bytes once decompressed"
            )
        notes.append(
            f"the gzip data is truncated after {compressed:,} bytes; "
            f"the {size:,} bytes it inflates to were read"
        )
        if rest:
            yield rest
        return
    if not size:
        raise ActivityFileError("the gzip file is empty")
