"""TRAINERDAY_WEBHOOKS_RETRY_SCHEDULE: seconds separated by commas, refused with a clear message otherwise."""

from __future__ import annotations

import pytest

from trainerday_server.config import Settings


@pytest.mark.parametrize(
    ("text", "delays"),
    [("1,2,4", [1.0, 2.0, 4.0]), (" 0.2, 0.4 ,0.8 ", [0.2, 0.4, 0.8]), ("30", [30.0]), ("5,", [5.0])],
)
def test_schedules(text: str, delays: list[float]):
    assert Settings(webhooks_retry_schedule=text).webhook_retry_delays == delays


def test_the_default_retries_for_about_a_day():
    total = sum(Settings().webhook_retry_delays)
    assert 20 * 3600 <= total <= 30 * 3600


@pytest.mark.parametrize("text", ["1,two,4", "", ",", "-5", "1e9", "nan", "inf"])
def test_bad_schedules_say_what_is_expected(text: str):
    with pytest.raises(ValueError, match="TRAINERDAY_WEBHOOKS_RETRY_SCHEDULE"):
        Settings(webhooks_retry_schedule=text).webhook_retry_delays  # noqa: B018
