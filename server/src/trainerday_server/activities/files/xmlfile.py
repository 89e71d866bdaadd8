"""Safe, streaming XML parsing and the small readers TCX and GPX share.

Uploads are hostile until proven otherwise: lxml parses without resolving entities, without the network,
without loading DTDs and with libxml2's size limits on (no ``huge_tree``); a document that declares a DTD is
refused before anything else is parsed, since activity files never need one and entity tricks (billion
laughs, external entities) all start there. Track points are read as they are parsed and then dropped, so a
long ride does not cost a whole document tree. Errors name the line (and column) of the problem.
"""

from __future__ import annotations

import io
import math
from array import array
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypedDict, cast

import numpy as np
import numpy.typing as npt
from lxml import etree

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
_FEED_BYTES = 64 * 1024
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
_FORMATS = {"TrainingCenterDatabase": "TCX", "gpx": "GPX"}

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


def root_name(content: bytes) -> str:
    """The local name of the document's root element, read from the document's start only; refuses DTDs
    and reports XML that is not well-formed up to there."""
    parser = etree.XMLPullParser(events=("start",), **_SAFE)
    try:
        for start in range(0, len(content), _FEED_BYTES):
            parser.feed(content[start : start + _FEED_BYTES])
            for _, element in parser.read_events():
                if not isinstance(element, etree._Element):  # "start" events carry elements; never here
                    continue
                docinfo = element.getroottree().docinfo
                # lxml-stubs lacks DocInfo.doctype: the declaration's text, "" when there is none.
                if (
                    cast(Any, docinfo).doctype
                    or docinfo.internalDTD is not None
                    or docinfo.externalDTD is not None
                ):
                    raise ActivityFileError(
                        "XML with a document type declaration (<!DOCTYPE ...>) is refused: "
                        "activity files have no use for DTDs or entities"
                    )
                return local_name(element)
        parser.close()
    except etree.XMLSyntaxError as exc:
        raise _not_well_formed(exc) from None
    raise ActivityFileError("the XML document has no root element")


def stream(
    content: bytes, root: str, tags: tuple[str, ...], read: Callable[[etree._Element], None]
) -> etree._Element:
    """Parse a document whose root must be named ``root``, calling ``read`` on each element named in ``tags``
    (``{*}name``: any namespace) as it ends, then dropping it and its earlier siblings, so memory stays flat
    however long the track. Returns the root, which keeps everything else (names, notes, laps)."""
    name = root_name(content)
    if name != root:
        raise ActivityFileError(f"not a {_FORMATS[root]} file: the root element is <{name}>")
    names = {tag.removeprefix("{*}") for tag in tags}
    is_point: dict[Any, bool] = {}  # by full tag: local_name is too slow to call on every element
    context = etree.iterparse(io.BytesIO(content), events=("start", "end"), **_SAFE)
    points = elements = inside = outside = 0
    in_point = False
    try:
        for event, element in context:
            if event == "start":
                elements += 1
                if in_point:
                    inside += 1
                    if inside > MAX_ELEMENTS_PER_POINT:
                        raise _too_many(
                            root, f"elements in one point (over {MAX_ELEMENTS_PER_POINT:,})", element
                        )
                else:
                    tag = element.tag
                    point = is_point.get(tag)
                    if point is None:
                        point = is_point[tag] = local_name(element) in names
                    if point:
                        in_point, inside = True, 0
                    else:
                        outside += 1
                        if outside > MAX_ELEMENTS_OUTSIDE_POINTS:
                            raise _too_many(
                                root,
                                f"elements that are not points (over {MAX_ELEMENTS_OUTSIDE_POINTS:,})",
                                element,
                            )
                if elements > MAX_ELEMENTS:
                    raise _too_many(root, f"elements (over {MAX_ELEMENTS:,})", element)
            elif in_point and is_point.get(element.tag):
                in_point = False
                if points == MAX_POINTS:
                    raise ActivityFileError(
                        f"this {_FORMATS[root]} file holds over {MAX_POINTS:,} points, too many for one "
                        f"activity (line {element.sourceline})",
                        extra={"line": element.sourceline},
                    )
                points += 1
                read(element)
                element.clear(keep_tail=True)
                while element.getprevious() is not None:
                    del element.getparent()[0]
    except etree.XMLSyntaxError as exc:
        raise _not_well_formed(exc) from None
    return context.root


def _too_many(root: str, what: str, element: etree._Element) -> ActivityFileError:
    return ActivityFileError(
        f"this {_FORMATS[root]} file holds too many {what} (line {element.sourceline})",
        extra={"line": element.sourceline},
    )


def stream_points(
    content: bytes,
    root: str,
    tags: tuple[str, ...],
    channels: tuple[str, ...],
    read_point: Callable[[etree._Element, dict[str, float]], float | None],
) -> tuple[etree._Element, FloatArray, dict[str, FloatArray]]:
    """:func:`stream` for track points: ``read_point`` fills a point's values (by channel) and returns its
    time (NaN if none), or None to skip the element. Returns the root, the times and one column per channel
    (NaN where a point lacks the value), kept as 8-byte doubles while parsing, where a list takes 32."""
    epoch = array("d")
    columns = {channel: array("d") for channel in channels}

    def read(element: etree._Element) -> None:
        values: dict[str, float] = {}
        moment = read_point(element, values)
        if moment is None:
            return
        epoch.append(moment)
        for channel, column in columns.items():
            column.append(values.get(channel, math.nan))

    document = stream(content, root, tags, read)
    return document, np.frombuffer(epoch), {channel: np.frombuffer(v) for channel, v in columns.items()}


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
