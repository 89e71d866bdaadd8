"""Charts for the pages, drawn on the server as SVG: no script, no library, nothing fetched.

Each returns markup to put inline (it is built only from numbers and escaped text). Colours are the zone
colours of ``workouts/chart.py``, so a zone looks the same on every page and in the exported picture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import numpy.typing as npt
from markupsafe import Markup

from trainerday_server.athlete.zones import power_zone_of
from trainerday_server.workouts.chart import ZONE_COLOURS
from trainerday_server.workouts.structure import Segment, strip_non_xml

MAX_POINTS = 600  # a line chart never has more vertices than this: a 4-hour ride at 1 Hz is cut to it


def _svg(markup: str) -> Markup:
    """Markup built here from numbers and ``_text``-escaped strings only, so it is safe to put inline."""
    return Markup(markup)  # noqa: S704 - see above: nothing unescaped goes in


def _text(value: str) -> str:
    return escape(strip_non_xml(value), {'"': "&quot;"})


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def mini_profile(segments: Sequence[Segment], *, width: int = 120, height: int = 28) -> Markup:
    """A workout's power profile, small enough for a calendar cell; decorative (the cell says it in text)."""
    total = sum(s.seconds for s in segments) or 1.0
    top = max(150.0, *(max(s.start, s.end) for s in segments))
    x_scale, y_scale = width / total, height / top
    shapes, elapsed = [], 0.0
    for s in segments:
        x0, x1 = elapsed * x_scale, (elapsed + s.seconds) * x_scale
        zone = power_zone_of((s.start + s.end) / 2, 100)
        y0, y1 = _n(height - s.start * y_scale), _n(height - s.end * y_scale)
        points = f"{_n(x0)},{height} {_n(x0)},{y0} {_n(x1)},{y1} {_n(x1)},{height}"
        shapes.append(f'<polygon points="{points}" fill="{ZONE_COLOURS[zone - 1]}"/>')
        elapsed += s.seconds
    return _svg(
        f'<svg class="mini" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'preserveAspectRatio="none" aria-hidden="true" focusable="false">{"".join(shapes)}</svg>'
    )


def _downsample(values: npt.NDArray[np.float64], limit: int = MAX_POINTS) -> npt.NDArray[np.float64]:
    """Mean of equal buckets (NaN ignored), so a spike still moves its bucket; at most ``limit`` values."""
    if values.size <= limit:
        return values
    starts = np.linspace(0, values.size, limit + 1).astype(int)[:-1]  # strictly rising: size > limit
    missing = np.isnan(values)
    sums = np.add.reduceat(np.where(missing, 0.0, values), starts)
    counts = np.add.reduceat((~missing).astype(np.int64), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _clock(seconds: float) -> str:
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def line_chart(
    label: str,
    unit: str,
    seconds: npt.NDArray[np.float64],
    values: npt.NDArray[np.float64],
    colour: str,
    *,
    width: int = 900,
    height: int = 160,
) -> tuple[Markup, str]:
    """A time series with axes and labels; returns the SVG and the hover values (comma-separated text, one
    per drawn point) for the page's small script. Coordinates are computed on arrays and formatted from
    Python floats: a 4-hour ride's five charts cost a few milliseconds."""
    drawn = _downsample(values.astype(float))
    times = _downsample(seconds.astype(float))
    finite = drawn[~np.isnan(drawn)]
    if finite.size == 0:
        return _svg(""), ""
    left, bottom, top_pad = 48, 22, 18
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    low = min(0.0, float(finite.min()))
    high = float(finite.max()) or 1.0
    t0, span_t = float(times[0]), float(times[-1] - times[0]) or 1.0

    def y(v: float) -> float:
        return top_pad + plot_h - (v - low) / (high - low or 1.0) * plot_h

    xs = (left + (times - t0) / span_t * plot_w).tolist()
    ys = (top_pad + plot_h - (drawn - low) / (high - low or 1.0) * plot_h).tolist()
    paths: list[list[str]] = []
    current: list[str] = []
    for px, py in zip(xs, ys, strict=True):
        if py != py:  # NaN: a gap in the recording breaks the line
            if current:
                paths.append(current)
            current = []
        else:
            current.append(f"{px:.1f},{py:.1f}")
    if current:
        paths.append(current)
    lines = "".join(
        f'<polyline points="{" ".join(p)}" fill="none" stroke="{colour}" stroke-width="1.5"/>' for p in paths
    )
    ticks = []
    for fraction in (0, 0.5, 1):
        v = low + (high - low) * fraction
        ticks.append(
            f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>'
            f'<line x1="{left}" x2="{width - 8}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
        )
    for fraction, anchor in ((0, "start"), (0.25, "middle"), (0.5, "middle"), (0.75, "middle"), (1, "end")):
        ticks.append(
            f'<text x="{left + fraction * plot_w:.1f}" y="{height - 6}" text-anchor="{anchor}">'
            f"{_clock(t0 + span_t * fraction)}</text>"
        )
    title = (
        f"{label} over time: mean {float(finite.mean()):.0f} {unit}, "
        f"maximum {float(np.nanmax(values)):.0f} {unit}"
    )
    svg = (
        f'<svg viewBox="0 0 {width} {height}" class="chart" role="img" aria-label="{_text(title)}">'
        f"{''.join(ticks)}{lines}"
        f'<text x="{left - 4}" y="10" text-anchor="end" class="axis-label">{_text(unit)}</text></svg>'
    )
    gaps = np.isnan(drawn).tolist()
    shown = np.round(np.nan_to_num(drawn)).astype(int).tolist()  # below zero is real: altitude, temperature
    hover = ",".join(
        f"{_clock(t)} {'-' if gap else v} {unit}"
        for t, v, gap in zip(times.tolist(), shown, gaps, strict=True)
    )
    return _svg(svg), hover


def power_curve_chart(points: Sequence[tuple[int, float]], *, width: int = 900, height: int = 220) -> Markup:
    """Mean-max power against duration on a log time axis (1 s ... hours)."""
    points = [(s, w) for s, w in points if s > 0 and w is not None]
    if not points:
        return _svg("")
    left, bottom, top_pad = 48, 24, 18
    plot_w, plot_h = width - left - 12, height - bottom - top_pad
    lo, hi = math.log10(points[0][0]), math.log10(max(points[-1][0], points[0][0] + 1))
    peak = max(w for _, w in points) or 1.0

    def x(s: float) -> float:
        return left + (math.log10(s) - lo) / (hi - lo or 1.0) * plot_w

    def y(w: float) -> float:
        return top_pad + plot_h - w / peak * plot_h

    line = " ".join(f"{_n(x(s))},{_n(y(w))}" for s, w in points)
    ticks = []
    for s, name in (
        (1, "1s"),
        (5, "5s"),
        (30, "30s"),
        (60, "1m"),
        (300, "5m"),
        (1200, "20m"),
        (3600, "1h"),
        (7200, "2h"),
        (14400, "4h"),
    ):
        if points[0][0] <= s <= points[-1][0]:
            ticks.append(
                f'<line x1="{_n(x(s))}" x2="{_n(x(s))}" y1="{top_pad}" y2="{top_pad + plot_h}" '
                'stroke="#ddd"/>'
                f'<text x="{_n(x(s))}" y="{height - 6}" text-anchor="middle">{name}</text>'
            )
    for fraction in (0, 0.5, 1):
        w = peak * fraction
        ticks.append(f'<text x="{left - 4}" y="{_n(y(w) + 4)}" text-anchor="end">{w:.0f}</text>')
    summary = ", ".join(
        f"{name} {w:.0f} W"
        for s, w in points
        for t, name in ((5, "5 s"), (60, "1 min"), (300, "5 min"), (1200, "20 min"))
        if s == t
    )
    return _svg(
        f'<svg viewBox="0 0 {width} {height}" class="chart" role="img" '
        f'aria-label="Mean-max power curve on a log time axis: {_text(summary or "best efforts")}">'
        f"{''.join(ticks)}"
        f'<polyline points="{line}" fill="none" stroke="#0b57a4" stroke-width="2"/>'
        f'<text x="{left - 4}" y="10" text-anchor="end" class="axis-label">W</text></svg>'
    )


def zone_bars(seconds_per_zone: Sequence[int], names: Sequence[str], colours: Sequence[str]) -> Markup:
    """Time in each zone as horizontal bars with their labels."""
    total = sum(seconds_per_zone) or 1
    rows, height = [], 22
    for i, (seconds, name) in enumerate(zip(seconds_per_zone, names, strict=False)):
        w = seconds / total * 560
        rows.append(
            f'<text x="0" y="{i * height + 15}">Z{i + 1} {_text(name)}</text>'
            f'<rect x="200" y="{i * height + 3}" width="{_n(max(w, 0.5))}" height="16" '
            f'fill="{colours[i % len(colours)]}"/>'
            f'<text x="{_n(206 + w)}" y="{i * height + 15}">{_clock(seconds)} ({seconds / total:.0%})</text>'
        )
    return _svg(
        f'<svg viewBox="0 0 900 {len(rows) * height + 4}" class="chart bars" role="img" '
        'aria-label="Time in zones">'
        f"{''.join(rows)}</svg>"
    )


def route_outline(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64], *, size: int = 320) -> Markup:
    """The ride's track as a plain outline (equirectangular, scaled by latitude), no map tiles."""
    valid = ~(np.isnan(lat) | np.isnan(lon))
    if valid.sum() < 2:
        return _svg("")
    la, lo = _downsample(lat[valid], 1000), _downsample(lon[valid], 1000)
    keep = ~(np.isnan(la) | np.isnan(lo))
    la, lo = la[keep], lo[keep]
    x = (lo - lo.min()) * math.cos(math.radians(float(la.mean())))
    y = la.max() - la
    extent = float(max(x.max(), y.max())) or 1.0
    scale = (size - 20) / extent
    xs, ys = (10 + x * scale).tolist(), (10 + y * scale).tolist()
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs, ys, strict=True))
    start, end = points.split(" ")[0].split(","), points.split(" ")[-1].split(",")
    return _svg(
        f'<svg viewBox="0 0 {size} {size}" class="route" role="img" aria-label="Route outline (north up)">'
        f'<polyline points="{points}" fill="none" stroke="#a4161a" stroke-width="2.5" '
        'stroke-linejoin="round"/>'
        f'<circle cx="{end[0]}" cy="{end[1]}" r="6" fill="#1b1b1b"><title>Finish</title></circle>'
        f'<circle cx="{start[0]}" cy="{start[1]}" r="4" fill="#3fae49"><title>Start</title></circle></svg>'
    )


def pmc_chart(days: Sequence[Any], today: Any, *, width: int = 900, height: int = 260) -> Markup:
    """CTL, ATL and TSB as lines and daily TSS as bars over the days given (each with ``date``, ``tss``,
    ``ctl``, ``atl``, ``tsb``, ``projected``); projected days are drawn dashed."""
    if not days:
        return _svg("")
    left, right, bottom, top_pad = 40, 40, 24, 12
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    load_top = max(10.0, *(max(d.ctl, d.atl) for d in days))
    tss_top = max(10.0, *((d.tss or 0) for d in days))
    tsb_low = min(0.0, *(d.tsb for d in days))
    span = max(1, len(days) - 1)

    def x(i: int) -> float:
        return left + i / span * plot_w

    def y(v: float) -> float:  # CTL, ATL and TSB share the left axis, from the lowest TSB to the top load
        return top_pad + plot_h - (v - tsb_low) / (load_top - tsb_low) * plot_h

    bar_w = max(1.0, plot_w / len(days) * 0.7)

    def bar(i: int, tss: float) -> str:  # TSS bars use the lower half of the height, on their own scale
        tall = tss / tss_top * plot_h * 0.5
        return (
            f'<rect x="{x(i) - bar_w / 2:.1f}" y="{top_pad + plot_h - tall:.1f}" width="{bar_w:.1f}" '
            f'height="{tall:.1f}" fill="#bdbdbd"/>'
        )

    bars = "".join(bar(i, d.tss) for i, d in enumerate(days) if d.tss)

    def line(field: str, colour: str) -> str:
        done = [(i, getattr(d, field)) for i, d in enumerate(days) if not d.projected]
        ahead = [(i, getattr(d, field)) for i, d in enumerate(days) if d.projected]
        if done and ahead:
            ahead.insert(0, done[-1])
        out = ""
        for points, dash in ((done, ""), (ahead, ' stroke-dasharray="5 4"')):
            if len(points) > 1:
                coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)
                out += f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
        return out

    ticks = []
    for v in (tsb_low, 0.0, load_top / 2, load_top):
        ticks.append(
            f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>'
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e0e0e0"/>'
        )
    for i in sorted({0, len(days) // 2, len(days) - 1}):
        anchor = "start" if i == 0 else ("end" if i == len(days) - 1 else "middle")
        ticks.append(f'<text x="{x(i):.1f}" y="{height - 6}" text-anchor="{anchor}">{days[i].date}</text>')
    last = next((d for d in reversed(days) if not d.projected), days[-1])
    label = f"Fitness {last.ctl:.0f}, fatigue {last.atl:.0f}, form {last.tsb:.0f} on {last.date}"
    return _svg(
        f'<svg viewBox="0 0 {width} {height}" class="chart" role="img" aria-label="{_text(label)}">'
        f"{''.join(ticks)}{bars}"
        f"{line('ctl', '#0b57a4')}{line('atl', '#c2185b')}{line('tsb', '#e65100')}</svg>"
    )
