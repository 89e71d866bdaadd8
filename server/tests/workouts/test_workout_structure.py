"""The Workout model: wire form in and out, and errors that name the field."""

from __future__ import annotations

import pytest

from trainerday_server.errors import ValidationFailed
from trainerday_server.workouts.structure import MAX_TAGS, MAX_TITLE, Segment, Workout, parse_workout


def test_parse_workout_strips_and_dedupes_and_round_trips() -> None:
    raw = {
        "title": "  Easy Spin ",
        "description": " spin ",
        "tags": ["endurance", " endurance", "z2"],
        "segments": [[10, 50, 50], [5, 60, 40, 90, 85, "cooldown", "ease off"]],
    }
    workout = parse_workout(raw)
    assert workout == Workout(
        title="Easy Spin",
        description="spin",
        tags=("endurance", "z2"),
        segments=(Segment(10, 50, 50), Segment(5, 60, 40, 90, 85, "cooldown", "ease off")),
    )
    assert workout.minutes == 15
    assert parse_workout(workout.to_json()) == workout
    assert workout.to_json()["segments"] == [[10, 50, 50], [5, 60, 40, 90, 85, "cooldown", "ease off"]]


def test_description_and_tags_are_optional() -> None:
    workout = parse_workout({"title": "T", "segments": ONE})
    assert (workout.description, workout.tags) == ("", ())


ONE = [[1, 50, 50]]


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"title": " ", "segments": ONE}, "workout.title", "must not be empty"),
        ({"title": 7, "segments": ONE}, "workout.title", "must be a string"),
        ({"title": "x" * (MAX_TITLE + 1), "segments": ONE}, "workout.title", "at most 200"),
        ({"title": "T", "description": [], "segments": ONE}, "workout.description", "string"),
        ({"title": "T", "tags": "z2", "segments": ONE}, "workout.tags", "array of strings"),
        ({"title": "T", "tags": ["a"] * (MAX_TAGS + 1), "segments": ONE}, "workout.tags", "at most 20"),
        ({"title": "T", "tags": ["ok", ""], "segments": ONE}, "workout.tags[1]", "must not be empty"),
        ({"title": "T", "segments": []}, "workout.segments", "at least one segment"),
        ({"title": "T", "segments": [[1, 50, 50], [1, "60", 60]]}, "workout.segments[1][1]", "startPercent"),
        ({"title": "T", "segments": [[1, 50, 50, None, None, "sprint"]]}, "workout.segments[0][5]", "type"),
    ],
)
def test_errors_name_the_field(raw: object, field: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_workout(raw)
    assert caught.value.errors[0].field == field
    assert message in caught.value.errors[0].message
    assert caught.value.detail.startswith(field)


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_workout({"title": "", "tags": [1], "segments": [[0, 50, 50]]})
    fields = [e.field for e in caught.value.errors]
    assert fields == ["workout.title", "workout.tags[0]", "workout.segments[0][0]"]
    assert caught.value.detail.endswith("(and 2 more)")


def test_not_an_object() -> None:
    with pytest.raises(ValidationFailed, match="must be an object"):
        parse_workout([[1, 50, 50]])
