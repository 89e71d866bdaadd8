"""Zwift workout files (.zwo): XML, durations in seconds, power as a fraction of FTP.

Blocks written: ``SteadyState``; ``Warmup``, ``Cooldown`` and ``Ramp`` for segments typed warmup or cooldown
and for other ramps; ``IntervalsT`` where two steady segments repeat as on/off pairs; ``FreeRide``. Zwift's
ramp blocks go from ``PowerLow`` to ``PowerHigh`` whatever their names say, so a cooldown is written, as
Zwift writes its own, with ``PowerLow`` the *starting*, higher value, and every ramp block is read that way.

What survives a round trip: durations (to the millisecond), power (to 0.0001 % FTP), cadence, text, and the
types warmup, cooldown and freeride. ZWO has no other types: a ``SteadyState`` or ``Ramp`` reads back
untyped and ``IntervalsT`` pairs read back as active/rest. A free ride's planned effort is kept in a
``Power`` attribute (seen in Zwift's own files; Zwift gives the rider no target there).

XML is parsed with entity resolution, DTD loading and network access off, and any DOCTYPE is refused.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from trainerday_server.workouts.formats.common import (
    FREERIDE_PERCENT,
    Draft,
    Drafts,
    attach_texts,
    build_workout,
    file_error,
    format_number,
    minutes_of,
    number,
    percent,
)
from trainerday_server.workouts.structure import Segment, Workout

MEDIA_TYPE = "application/xml"

_RAMP_TAGS = {"warmup": "Warmup", "cooldown": "Cooldown"}
_INTERVAL_TYPES = frozenset({None, "active", "rest", "recovery"})
_BLOCKS = "SteadyState, Warmup, Cooldown, Ramp, IntervalsT, FreeRide"


# --- export -----------------------------------------------------------------------------------------------


def _seconds(segment: Segment) -> str:
    return format_number(segment.seconds, 3)


def _fraction(value: float) -> str:
    return format_number(value / 100, 6)


def _steady_interval_part(segment: Segment) -> bool:
    return (
        not segment.is_ramp
        and segment.type in _INTERVAL_TYPES
        and segment.text is None
        and segment.cadence_start == segment.cadence_end
    )


def _repeats(segments: tuple[Segment, ...], i: int) -> int:
    """How many times the on/off pair at ``i`` repeats back to back (0 if it is not such a pair)."""
    if i + 1 >= len(segments):
        return 0
    on, off = segments[i], segments[i + 1]
    if on == off or not (_steady_interval_part(on) and _steady_interval_part(off)):
        return 0
    count = 1
    while i + 2 * count + 1 < len(segments) and segments[i + 2 * count : i + 2 * count + 2] == (on, off):
        count += 1
    return count


def _cadence_attributes(segment: Segment) -> dict[str, str]:
    low, high = segment.cadence_start, segment.cadence_end
    if low is not None and low == high:
        return {"Cadence": str(low)}
    attributes = {}
    if low is not None:
        attributes["CadenceLow"] = str(low)
    if high is not None:
        attributes["CadenceHigh"] = str(high)
    return attributes


def _block(parent: Any, segment: Segment) -> None:
    attributes = {"Duration": _seconds(segment)}
    if segment.type == "freeride":
        tag = "FreeRide"
    elif segment.type in _RAMP_TAGS:
        tag = _RAMP_TAGS[segment.type]
    else:
        tag = "Ramp" if segment.is_ramp else "SteadyState"
    if tag in ("SteadyState", "FreeRide") and not segment.is_ramp:
        attributes["Power"] = _fraction(segment.start)
    else:
        attributes["PowerLow"] = _fraction(segment.start)  # Zwift's way: the start, even when higher
        attributes["PowerHigh"] = _fraction(segment.end)
    attributes.update(_cadence_attributes(segment))
    element = etree.SubElement(parent, tag, attributes)
    if segment.text:
        etree.SubElement(element, "textevent", {"timeoffset": "0", "message": segment.text})


def _intervals(parent: Any, on: Segment, off: Segment, repeat: int) -> None:
    attributes = {
        "Repeat": str(repeat),
        "OnDuration": _seconds(on),
        "OffDuration": _seconds(off),
        "OnPower": _fraction(on.start),
        "OffPower": _fraction(off.start),
    }
    if on.cadence_start is not None:
        attributes["Cadence"] = str(on.cadence_start)
    if off.cadence_start is not None:
        attributes["CadenceResting"] = str(off.cadence_start)
    etree.SubElement(parent, "IntervalsT", attributes)


def export_zwo(workout: Workout) -> bytes:
    root = etree.Element("workout_file")
    etree.SubElement(root, "name").text = workout.title
    etree.SubElement(root, "description").text = workout.description
    etree.SubElement(root, "sportType").text = "bike"
    tags = etree.SubElement(root, "tags")
    for tag in workout.tags:
        etree.SubElement(tags, "tag", {"name": tag})
    blocks = etree.SubElement(root, "workout")
    segments, i = workout.segments, 0
    while i < len(segments):
        repeat = _repeats(segments, i)
        if repeat >= 2:
            _intervals(blocks, segments[i], segments[i + 1], repeat)
            i += 2 * repeat
        else:
            _block(blocks, segments[i])
            i += 1
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


# --- import -----------------------------------------------------------------------------------------------


class _Element:
    """An XML element's attributes read as numbers, with errors naming the element and its line."""

    def __init__(self, element: Any) -> None:
        self.element = element
        self.where = f"line {element.sourceline}, <{element.tag}>"

    def has(self, name: str) -> bool:
        return self.element.get(name) is not None

    def number(self, name: str) -> float:
        return number(self.element.get(name), self.where, name)

    def optional(self, name: str) -> float | None:
        return self.number(name) if self.has(name) else None

    def power(self, name: str, low: str, high: str) -> float:
        """A steady power as % FTP: ``name``, or the middle of a ``low``..``high`` range."""
        if self.has(name) or not (self.has(low) and self.has(high)):
            return percent(self.number(name) * 100)
        return percent((self.number(low) + self.number(high)) * 50)

    def ramp(self) -> tuple[float, float]:
        if self.has("PowerLow") or self.has("PowerHigh") or not self.has("Power"):
            return percent(self.number("PowerLow") * 100), percent(self.number("PowerHigh") * 100)
        flat = percent(self.number("Power") * 100)
        return flat, flat

    def cadence(self) -> tuple[float | None, float | None]:
        both = self.optional("Cadence")
        if both is not None:
            return both, both
        return self.optional("CadenceLow"), self.optional("CadenceHigh")

    def texts(self) -> list[tuple[float, str]]:
        texts = []
        for child in self.element:
            if isinstance(child.tag, str) and child.tag.lower() == "textevent":
                event = _Element(child)
                offset = event.optional("timeoffset")
                if offset is None:
                    offset = event.optional("TimeOffset")
                texts.append((offset or 0.0, child.get("message") or ""))
        return texts


def _read_block(block: _Element, drafts: Drafts) -> None:
    tag = block.element.tag.lower()
    where = block.where
    first = len(drafts)
    if tag == "intervalst":
        repeat = block.number("Repeat")
        if repeat != int(repeat) or repeat < 1:
            raise file_error(where, f"Repeat must be a whole number of at least 1, got {repeat:g}")
        drafts.reserve(2 * int(repeat), where)
        on_power = block.power("OnPower", "PowerOnLow", "PowerOnHigh")
        off_power = block.power("OffPower", "PowerOffLow", "PowerOffHigh")
        on_cadence, off_cadence = block.optional("Cadence"), block.optional("CadenceResting")
        on = (minutes_of(block.number("OnDuration")), on_power, on_power, on_cadence, on_cadence, "active")
        off = (
            minutes_of(block.number("OffDuration")),
            off_power,
            off_power,
            off_cadence,
            off_cadence,
            "rest",
        )
        for _ in range(int(repeat)):
            drafts.add(Draft(where, *on))
            drafts.add(Draft(where, *off))
    else:
        minutes = minutes_of(block.number("Duration"))
        if tag == "steadystate":
            start = end = block.power("Power", "PowerLow", "PowerHigh")
            kind = None
        elif tag in ("warmup", "cooldown", "ramp"):
            start, end = block.ramp()
            kind = None if tag == "ramp" else tag
        elif tag == "freeride":
            start, end = (
                block.ramp() if block.has("Power") or block.has("PowerLow") else (FREERIDE_PERCENT,) * 2
            )
            kind = "freeride"
        else:
            raise file_error(where, f"<{block.element.tag}> blocks are not supported (only {_BLOCKS})")
        drafts.add(Draft(where, minutes, start, end, *block.cadence(), kind))
    attach_texts(drafts[first:], block.texts())


def _parse(content: bytes) -> Any:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 1
        raise file_error(f"line {line}", f"not well-formed XML: {exc.msg}") from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise file_error("line 1", "DOCTYPE declarations are not allowed in a workout file")
    return root


def import_zwo(content: bytes, default_title: str) -> Workout:
    root = _parse(content)
    if root.tag != "workout_file":
        raise file_error(f"line {root.sourceline}", f"the root element is <{root.tag}>, not <workout_file>")
    sport = (root.findtext("sportType") or "bike").strip().lower()
    if sport != "bike":
        raise file_error("<sportType>", f"only bike workouts can be imported, this one is for {sport!r}")
    blocks = root.find("workout")
    if blocks is None:
        raise file_error(f"line {root.sourceline}, <workout_file>", "has no <workout> element")
    drafts = Drafts()
    for element in blocks:
        if isinstance(element.tag, str):  # skip comments and processing instructions
            _read_block(_Element(element), drafts)
    return build_workout(
        drafts,
        title=root.findtext("name"),
        description=root.findtext("description"),
        tags=[t.get("name") or "" for t in root.iterfind("tags/tag")],
        default_title=default_title,
    )
