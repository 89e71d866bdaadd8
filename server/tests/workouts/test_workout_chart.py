"""The SVG power profile: valid standalone XML with the structure the web UI and screen readers rely on."""

from __future__ import annotations

from lxml import etree

from trainerday_server.workouts.chart import HEIGHT, WIDTH, ZONE_COLOURS, workout_svg
from trainerday_server.workouts.structure import Segment

SVG = "{http://www.w3.org/2000/svg}"
SEGMENTS = [
    Segment(10, 40, 75, type="warmup", text="Easy & <steady>"),
    Segment(5, 120, 120),
    Segment(5, 50, 50),
    Segment(1, 160, 160),
    Segment(9, 80, 40, type="cooldown"),
]


def parse(svg: str) -> etree._Element:
    return etree.fromstring(svg.encode(), etree.XMLParser(resolve_entities=False, no_network=True))


def test_svg_structure() -> None:
    root = parse(workout_svg(SEGMENTS, ftp=250, title="Over & Under"))
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {WIDTH} {HEIGHT}" and root.get("role") == "img"
    assert root[0].tag == f"{SVG}title" and root[0].text == "Over & Under: 30:00 in 5 segments"
    assert root[1].tag == f"{SVG}desc" and "zone 7 Neuromuscular Power" in root[1].text
    polygons = root.findall(f"{SVG}polygon")
    assert len(polygons) == len(SEGMENTS)
    zones = [int(p.get("class").removeprefix("zone-")) for p in polygons]
    assert zones == [2, 5, 1, 7, 2]  # zone of each segment's mean power
    assert [p.get("fill") for p in polygons] == [ZONE_COLOURS[z - 1] for z in zones]
    assert polygons[0].findtext(f"{SVG}title") == (
        "Segment 1: 10:00 at 40% (100 W) to 75% (188 W), zone 2: Easy & <steady>"
    )
    assert root.find(f"{SVG}line").findtext(f"{SVG}title") == "FTP"


def test_polygons_tile_the_time_axis_and_ramps_are_trapezoids() -> None:
    root = parse(workout_svg(SEGMENTS))
    corners = [
        [tuple(float(v) for v in point.split(",")) for point in p.get("points").split()]
        for p in root.findall(f"{SVG}polygon")
    ]
    # Each polygon stands on the baseline, from its segment's start to its end: 30 min over the width.
    edges = [0.0, 10, 15, 20, 21, 30]
    for (bottom_left, top_left, top_right, bottom_right), x0, x1 in zip(
        corners, edges, edges[1:], strict=False
    ):
        assert bottom_left == (round(x0 / 30 * WIDTH, 2), HEIGHT) and bottom_right == (
            round(x1 / 30 * WIDTH, 2),
            HEIGHT,
        )
        assert top_left[0] == bottom_left[0] and top_right[0] == bottom_right[0]
    scale = HEIGHT / (160 * 1.1)  # the tallest segment at 160 % sets the top edge with 10 % headroom
    warmup = corners[0]
    assert warmup[1][1] == round(HEIGHT - 40 * scale, 2) and warmup[2][1] == round(HEIGHT - 75 * scale, 2)
    steady = corners[1]
    assert steady[1][1] == steady[2][1]
    # Without FTP the tooltips speak in % only.
    assert root.find(f"{SVG}polygon").findtext(f"{SVG}title").startswith("Segment 1: 10:00 at 40% to 75%,")


def test_easy_workouts_keep_a_150_percent_scale() -> None:
    root = parse(workout_svg([Segment(60, 50, 50)]))
    top = float(root.find(f"{SVG}polygon").get("points").split()[1].split(",")[1])
    assert top == HEIGHT - 50 * HEIGHT / 150
