"""Safe, streaming XML parsing and the small readers TCX and GPX share.

Uploads are hostile until proven otherwise: lxml parses without resolving entities, without the network,
without loading DTDs and with libxml2's size limits on (no ``huge_tree``); a document that declares a DTD is
refused before anything else is parsed, since activity files never need one and entity tricks (billion
laughs, external entities) all start there. The document is fed to the parser in small pieces, as they
arrive (a gzip upload as it inflates), and track points are read as they are parsed and then dropped, so
neither a long ride nor a small gzip that inflates to a huge document costs its size in memory. Errors name
the line (and column) of the problem.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict, cast

import numpy as np
import numpy.typing as npt
from lxml import etree

from trainerday_server.activities.recording import Recording
from trainerday_server.errors import ActivityFileError

from .build import EARLIEST_TIME, LATEST_TIME


class _ParserOptions(TypedDict):
    resolve_entities: bool
    no_network: bool
    load_dtd: bool
    huge_tree: bool
    remove_comments: bool
    remove_pis: bool


# No entities, no network, no DTD loading, libxml2's size and depth limits kept (huge_tree off).
_SAFE: _ParserOptions = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}
FloatArray = npt.NDArray[np.float64]
# The parser is fed this much at a time: the events a feed yields (and their elements) then stay in the CPU's
# caches; measured on a 10-hour GPX, 16 kB feeds decode ~15 % faster than 64 kB ones.
_FEED_BYTES = 16 * 1024
_NAN = (math.nan,)
# The points (track, route and waypoints) one file may hold: as many as a FIT file may hold records
# (fitbody.MAX_RECORDS). An empty point is 8 bytes, so without a bound a 70 kB gzipped upload could hold
# millions, at some 5 µs and 250 bytes each.
MAX_POINTS = 1_000_000
# And the elements: a track point holds a dozen at most (time, position, extensions...), and what is not a
# point (names, notes, laps) is small. Elements are held until their point ends, and the rest until the
# document does, so without these bounds 12 million empty elements inside one <extensions> (a 47 kB gzip)
# grew the process by 1.5 GB. Every element costs about a microsecond, which MAX_ELEMENTS bounds.
MAX_ELEMENTS_PER_POINT = 1_000
MAX_ELEMENTS_OUTSIDE_POINTS = 100_000
MAX_ELEMENTS = 3_000_000
# And the text the tree holds: a point's (all of it within the point's bytes) until the point is read, the
# rest (names, notes, laps, whitespace) until the document ends. Text nodes are at most 10 MB each (libxml2),
# but a 44 kB gzip of ten 4.5 MB <desc> grew the process by 49 MB. A real point is under 2 kB, and what is
# not a point a few kB (a thousand laps of a TCX, indented, some 300 kB).
MAX_POINT_BYTES = 1 << 20
MAX_TEXT_OUTSIDE_POINTS = 4 << 20

# Strava's numeric GPX activity types, as seen in its exports.
_STRAVA_TYPES = {"1": ("cycling", None), "9": ("running", None), "17": ("cycling", "virtual_activity")}
# Words in TCX Sport attributes and GPX <type> elements, mapped onto FIT sport names.
_SPORT_WORDS = (
    ("virtual", ("cycling", "virtual_activity")),
    ("bik", ("cycling", None)),
    ("cycl", ("cycling", None)),
    ("ride", ("cycling", None)),
    ("run", ("running", None)),
    ("swim", ("swimming", None)),
    ("walk", ("walking", None)),
    ("hik", ("hiking", None)),
)


@dataclass(frozen=True, slots=True)
class PointFormat:
    """How one XML format is read: its root element, the elements that are points (``{*}name``: any
    namespace), the channels a point may fill, and two functions: ``read_point`` fills a point's values (by
    channel) and returns its time (NaN if none), or None to skip the element; ``finish`` makes the
    Recording from the root (which keeps what is not a point: names, notes, laps), the times and one column
    per channel."""

    root: str
    name: str  # "GPX", as messages say it
    tags: tuple[str, ...]
    channels: tuple[str, ...]
    read_point: Callable[[etree._Element, dict[str, float]], float | None]
    finish: Callable[[etree._Element, FloatArray, dict[str, FloatArray]], Recording]


def decode_points(content: bytes | Iterable[bytes], formats: tuple[PointFormat, ...]) -> Recording:
    """Parse a document (bytes, or pieces of it as they arrive: a gzip upload is inflated into the parser
    piece by piece and never held whole) in one of ``formats``, chosen by its root element.

    Each point is read as it ends and then dropped with its earlier siblings, so memory stays flat however
    long the track; its values are kept as 8-byte doubles, where a list takes 32, and a channel only once a
    point gives it a value (a million empty points cost their 8 MB of times, not 72 MB). Refuses DTDs and
    the element counts beyond the bounds above, naming the line."""
    parser = etree.XMLPullParser(events=("start", "end"), **_SAFE)
    # One iterator, read after each piece fed until it runs dry; its elements typed Any, as iterparse's are.
    events = cast(Iterator[tuple[str, Any]], parser.read_events())
    document: etree._Element | None = None
    format = formats[0]
    epoch = array("d")
    # A channel's column, once a point gives it a value (NaN before): empty points cost only their time.
    columns: dict[str, array[float]] = {}
    channels: frozenset[str] = frozenset()
    names: set[str] = set()
    is_point: dict[Any, bool] = {}  # by full tag: local_name is too slow to call on every element
    points = inside = point_start = kept = 0  # kept: characters of text outside the points
    elements = outside = 1  # the root
    in_point = False
    point: Any = None
    try:
        for fed in _feed(parser, content):
            if document is None:
                first = next(events, None)
                if first is None:
                    continue
                document, format = _root(first[1], formats)
                names = {tag.removeprefix("{*}") for tag in format.tags}
                channels = frozenset(format.channels)
            for event, element in events:
                if event == "start":
                    elements += 1
                    if in_point:
                        inside += 1
                        if inside > MAX_ELEMENTS_PER_POINT:
                            raise _too_many(
                                format, f"elements in one point (over {MAX_ELEMENTS_PER_POINT:,})", element
                            )
                    else:
                        tag = element.tag
                        starts_point = is_point.get(tag)
                        if starts_point is None:
                            starts_point = is_point[tag] = local_name(element) in names
                        if starts_point:
                            in_point, inside, point, point_start = True, 0, element, fed
                        else:
                            # Complete now: its attributes, and the text before it (its parent's, or its
                            # previous sibling's tail).
                            before = element.getprevious()
                            text = element.getparent().text if before is None else before.tail
                            kept += len(text or "") + sum(map(len, element.attrib.values()))
                            if kept > MAX_TEXT_OUTSIDE_POINTS:
                                raise _too_much_text(format, element)
                            outside += 1
                            if outside > MAX_ELEMENTS_OUTSIDE_POINTS:
                                raise _too_many(
                                    format,
                                    f"elements that are not points (over {MAX_ELEMENTS_OUTSIDE_POINTS:,})",
                                    element,
                                )
                    if elements > MAX_ELEMENTS:
                        raise _too_many(format, f"elements (over {MAX_ELEMENTS:,})", element)
                elif in_point and is_point.get(element.tag):
                    in_point = False
                    if points == MAX_POINTS:
                        raise ActivityFileError(
                            f"this {format.name} file holds over {MAX_POINTS:,} points, too many for one "
                            f"activity (line {element.sourceline})",
                            extra={"line": element.sourceline},
                        )
                    points += 1
                    values: dict[str, float] = {}
                    moment = format.read_point(element, values)
                    if moment is not None:
                        if not values.keys() <= columns.keys():  # a channel new to the track, perhaps
                            for channel, value in values.items():
                                if value == value and channel not in columns and channel in channels:
                                    columns[channel] = array("d", _NAN) * len(epoch)
                        epoch.append(moment)
                        for channel, column in columns.items():
                            column.append(values.get(channel, math.nan))
                    element.clear(keep_tail=True)
                    while element.getprevious() is not None:
                        del element.getparent()[0]
                elif not in_point:  # an element that is not a point ends: its own text, its last child's tail
                    last = element[-1] if len(element) else None
                    text = element.text if last is None else last.tail
                    if text and (kept := kept + len(text)) > MAX_TEXT_OUTSIDE_POINTS:
                        raise _too_much_text(format, element)
            if in_point and fed - point_start > MAX_POINT_BYTES:
                raise ActivityFileError(
                    f"this {format.name} file holds a point of over {MAX_POINT_BYTES:,} bytes "
                    f"(line {point.sourceline})",
                    extra={"line": point.sourceline},
                )
    except etree.XMLSyntaxError as exc:
        raise _not_well_formed(exc) from None
    if document is None:  # never here: the parser refuses a document without a root as not well-formed
        raise ActivityFileError("the XML document has no root element")
    values_by_channel = {channel: np.frombuffer(column) for channel, column in columns.items()}
    return format.finish(document, np.frombuffer(epoch), values_by_channel)


def _feed(parser: etree.XMLPullParser, content: bytes | Iterable[bytes]) -> Iterator[int]:
    """Feeds the parser _FEED_BYTES at a time, whatever the pieces' sizes, a step per piece fed (giving the
    bytes fed so far), and closes it after the last: the events (and the elements they hold) waiting to be
    read stay few."""
    fed = 0
    for piece in (content,) if isinstance(content, bytes) else content:
        for start in range(0, len(piece), _FEED_BYTES):
            part = piece[start : start + _FEED_BYTES] if len(piece) > _FEED_BYTES else piece
            parser.feed(part)
            fed += len(part)
            yield fed
    parser.close()
    yield fed


def _root(element: etree._Element, formats: tuple[PointFormat, ...]) -> tuple[etree._Element, PointFormat]:
    """The root element and the format it names; refuses DTDs, which activity files never need and entity
    tricks (billion laughs, external entities) all start from."""
    docinfo = element.getroottree().docinfo
    # lxml-stubs lacks DocInfo.doctype: the declaration's text, "" when there is none.
    if cast(Any, docinfo).doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise ActivityFileError(
            "XML with a document type declaration (<!DOCTYPE ...>) is refused: "
            "activity files have no use for DTDs or entities"
        )
    name = local_name(element)
    for format in formats:
        if format.root == name:
            return element, format
    if len(formats) == 1:
        raise ActivityFileError(f"not a {formats[0].name} file: the root element is <{name}>")
    kinds = " nor ".join(format.name for format in formats)
    raise ActivityFileError(f"an XML document with root element <{name}> is neither {kinds}")


def _too_much_text(format: PointFormat, element: etree._Element) -> ActivityFileError:
    return ActivityFileError(
        f"this {format.name} file holds over {MAX_TEXT_OUTSIDE_POINTS:,} characters of text outside its "
        f"points (line {element.sourceline})",
        extra={"line": element.sourceline},
    )


def _too_many(format: PointFormat, what: str, element: etree._Element) -> ActivityFileError:
    return ActivityFileError(
        f"this {format.name} file holds too many {what} (line {element.sourceline})",
        extra={"line": element.sourceline},
    )


def read_extensions(
    extensions: etree._Element, channel_of: Callable[[str], str | None], values: dict[str, float]
) -> None:
    """Numbers under an <extensions> element, by the channel ``channel_of`` gives each local name; the
    first value of a channel stands (a point's own elements, read before, win too)."""
    for element in extensions.iter():
        channel = channel_of(local_name(element))
        if channel is not None and channel not in values:
            values[channel] = number(element)


def _not_well_formed(exc: etree.XMLSyntaxError) -> ActivityFileError:
    line, column = exc.position
    message = (exc.msg or "syntax error").split(f", line {line}")[0]
    return ActivityFileError(
        f"not well-formed XML at line {line}, column {column}: {message}",
        extra={"line": line, "column": column},
    )


def local_name(element: etree._Element) -> str:
    """The tag without its namespace: TCX and GPX extensions come under any prefix, or none."""
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def number(element: etree._Element) -> float:
    """The element's text as a number (NaN when empty); ActivityFileError naming the line otherwise."""
    return _to_number(element.text, element, f"<{local_name(element)}>")


def attribute_number(element: etree._Element, name: str) -> float:
    """The attribute ``name`` as a number, as :func:`number` reads text."""
    return _to_number(element.get(name), element, f"<{local_name(element)} {name}=...>")


def _to_number(text: str | None, element: etree._Element, what: str) -> float:
    text = (text or "").strip()
    if not text:
        return float("nan")
    try:
        return float(text)
    except ValueError:
        raise ActivityFileError(
            f"line {element.sourceline}: {what} holds {_quote(text)}, which is not a number",
            extra={"line": element.sourceline},
        ) from None


def timestamp(element: etree._Element) -> float:
    """An ISO 8601 time as Unix seconds (NaN when empty); UTC when the text gives no offset. A time before
    2000 or from 2100 on is refused (see build.EARLIEST_TIME)."""
    text = (element.text or "").strip()
    if not text:
        return float("nan")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ActivityFileError(
            f"line {element.sourceline}: <{local_name(element)}> holds {_quote(text)}, which is not a time",
            extra={"line": element.sourceline},
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = moment.timestamp()
    if not EARLIEST_TIME <= seconds < LATEST_TIME:
        raise ActivityFileError(
            f"line {element.sourceline}: <{local_name(element)}> holds {_quote(text)}, "
            "which is not a time from 2000 to 2099",
            extra={"line": element.sourceline},
        )
    return seconds


def text_of(element: etree._Element | None) -> str | None:
    text = (element.text or "").strip() if element is not None else ""
    return text or None


def sport_from_text(text: str | None) -> tuple[str | None, str | None]:
    """FIT sport and sub-sport for a TCX Sport attribute or GPX <type> ("Biking", "cycling", Strava's "1")."""
    if not text:
        return None, None
    key = text.strip().lower()
    if key in _STRAVA_TYPES:
        return _STRAVA_TYPES[key]
    for word, sport in _SPORT_WORDS:
        if word in key:
            return sport
    return "generic", None


def _quote(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")
