"""The workout's power profile as a standalone SVG, coloured by power zone, for the web UI and for linking.

One polygon per segment (a ramp is a trapezoid), filled with the colour of the zone of the segment's mean
power, each with a ``<title>`` tooltip; the picture has a ``<title>`` and ``<desc>`` for screen readers and
scales to its container (``viewBox`` with ``preserveAspectRatio="none"`` stretches time, not text, as it
holds no text). A dashed line marks FTP. Text is escaped for XML, quotes included, and stripped of what XML
cannot carry at all, so that whatever a workout's text the picture is well-formed.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from trainerday_server.athlete.zones import POWER_ZONES, power_zone_of
from trainerday_server.workouts.formats.common import format_number
from trainerday_server.workouts.structure import Segment, strip_non_xml, total_minutes

WIDTH = 1000
HEIGHT = 300
# Zone colours as in most training apps: grey, blue, green, yellow, orange, red, purple.
ZONE_COLOURS = ("#9e9e9e", "#2f7fe0", "#3fae49", "#f5c518", "#f57c00", "#e53935", "#8e24aa")


def _xml(text: str) -> str:
    """``text`` as XML character data or attribute value."""
    return escape(strip_non_xml(text), {'"': "&quot;", "'": "&apos;"})


def _coordinate(value: float) -> str:
    return format_number(value, 2)


def _clock(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _power(percent: float, ftp: int | None) -> str:
    text = f"{percent:g}%"
    return f"{text} ({round(percent * ftp / 100)} W)" if ftp else text


def workout_svg(segments: Sequence[Segment], ftp: int | None = None, title: str = "Workout") -> str:
    """The profile of ``segments`` (at least one); with ``ftp`` the tooltips give watts too."""
    total_seconds = total_minutes(segments) * 60
    top = max(150.0, *(max(s.start, s.end) * 1.1 for s in segments))  # % FTP at the top edge
    x_scale, y_scale = WIDTH / total_seconds, HEIGHT / top

    def y(percent: float) -> str:
        return _coordinate(HEIGHT - percent * y_scale)

    shapes = []
    elapsed = 0.0
    for index, segment in enumerate(segments, start=1):
        x0, x1 = _coordinate(elapsed * x_scale), _coordinate((elapsed + segment.seconds) * x_scale)
        zone = power_zone_of((segment.start + segment.end) / 2, 100)
        power = _power(segment.start, ftp)
        if segment.is_ramp:
            power += f" to {_power(segment.end, ftp)}"
        label = f"Segment {index}: {_clock(segment.seconds)} at {power}, zone {zone}"
        if segment.text:
            label += f": {segment.text}"
        points = f"{x0},{HEIGHT} {x0},{y(segment.start)} {x1},{y(segment.end)} {x1},{HEIGHT}"
        shapes.append(
            f'<polygon class="zone-{zone}" points="{points}" fill="{ZONE_COLOURS[zone - 1]}">'
            f"<title>{_xml(label)}</title></polygon>"
        )
        elapsed += segment.seconds
    zones = ", ".join(f"zone {n} {name}" for n, name, _upper in POWER_ZONES)
    summary = f"{title}: {_clock(total_seconds)} in {len(segments)} segments"
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}" preserveAspectRatio="none" role="img" aria-labelledby="title desc">',
            f'<title id="title">{_xml(summary)}</title>',
            f'<desc id="desc">Power over time in % of FTP, coloured by power zone ({_xml(zones)}).</desc>',
            *shapes,
            f'<line x1="0" x2="{WIDTH}" y1="{y(100)}" y2="{y(100)}" stroke="#424242" stroke-width="1" '
            f'stroke-dasharray="6 4" vector-effect="non-scaling-stroke"><title>FTP</title></line>',
            "</svg>",
        ]
    )
