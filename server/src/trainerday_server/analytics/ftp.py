"""FTP from a power curve: Coggan's 20-minute field estimate, and what one ride suggests. Pure.

FTP is estimated as 95 % of the best 20-minute average power (Allen & Coggan, *Training and Racing with a
Power Meter*, 2nd ed., 2010, ch. 3: the 20-minute test, less 5 % for the part of a 20-minute effort above
what can be held for an hour).
"""

from __future__ import annotations

from typing import Any

from trainerday_server.analytics.curves import watts_at

METHOD = "95-percent-of-best-20-minutes-90-days"
WINDOW_DAYS = 90
TEST_SECONDS = 1200
FACTOR = 0.95


def ftp_from_twenty_minutes(watts: float) -> int:
    return round(FACTOR * watts)


def ftp_suggestions(power_curve: dict[str, Any] | None, ftp: int) -> list[dict[str, Any]]:
    """What a ride suggests about the athlete's FTP: its best 20 minutes imply one above ``ftp`` (the FTP
    the ride was measured at). Only a suggestion: nothing but the athlete changes the FTP."""
    watts = watts_at(power_curve, TEST_SECONDS)
    if watts is None:
        return []
    estimate = ftp_from_twenty_minutes(watts)
    if estimate <= ftp:
        return []
    return [
        {
            "type": "ftp",
            "ftp": estimate,
            "currentFtp": ftp,
            "method": METHOD,
            "message": f"Your best 20 minutes on this ride, {watts:g} W, imply an FTP of {estimate} W, "
            f"above the {ftp} W it was measured at. Raise your FTP if it reflects your form.",
        }
    ]
