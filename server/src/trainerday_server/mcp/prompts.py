"""Prompts an assistant offers its user as ready-made requests ("plan my week", "review my last ride"): the
steps that make a good answer with these tools, and the workout format's rules, so that what the assistant
plans is valid the first time. They read nothing themselves: the tools do, with the caller's scopes."""

from __future__ import annotations

import datetime as dt

from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS


def _day(value: str, name: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        # An MCPError is what the SDK passes on as it is: any other exception is an internal error to it.
        raise MCPError(INVALID_PARAMS, f"{name}: {value[:40]!r} is not a date as YYYY-MM-DD") from None


def register_prompts(server: MCPServer, workout_format: str) -> None:
    @server.prompt(
        name="plan_week",
        title="Plan my training week",
        description="Plan seven days of structured workouts around the athlete's calendar, fitness and form. "
        "Optional: a goal, the hours available, the first day (YYYY-MM-DD; default: the next Monday).",
    )
    def plan_week(goal: str = "", hoursAvailable: str = "", startDate: str = "") -> str:
        first = _day(startDate, "startDate")
        week = (
            f"the seven days from {first.isoformat()}"
            if first
            else "the next seven days from the coming Monday (get_profile tells today's date)"
        )
        wishes = []
        if goal.strip():
            wishes.append(f"My goal: {goal.strip()[:500]}.")
        if hoursAvailable.strip():
            wishes.append(f"I have about {hoursAvailable.strip()[:50]} hours to train that week.")
        return f"""\
Plan my training for {week}. {" ".join(wishes)}

Work in this order:
1. get_profile: my FTP, zones, time zone and today's date there.
2. get_calendar for the four weeks before and the week to plan: what I did, how it compared with the plan,
   and what is already planned (keep it; do not plan a second workout on a day that has one unless I ask).
3. get_fitness for the last six weeks: CTL, ATL and TSB. If TSB is below -20, make the week easier.
4. Propose the week to me first, one line per day (rest days included) with its purpose, duration and
   planned TSS, and the week's total. Plan it with plan_workout only after I agree, one call per workout,
   with an idempotencyKey per day so that a retried call does not plan twice.

Keep at least one rest day, no more than two hard days (threshold or above) in a row, and the week's TSS
within about 10 % of my recent weeks unless my goal says otherwise.

{workout_format}"""

    @server.prompt(
        name="review_last_ride",
        title="Review my last ride",
        description="How the most recent ride went against its plan: power, zones, the power curve, and what "
        "it means for the next days.",
    )
    def review_last_ride() -> str:
        return """\
Review my most recent ride.

1. list_activities: the newest ride; get_activity for it (summary, time in zones, power curve).
2. get_calendar for that day: the workout it completed, if any, and the compliance (green within 80-120 % of
   the planned TSS, yellow within 50-150 %, orange beyond).
3. get_fitness for the last four weeks: how the ride moved my CTL, ATL and TSB.

Tell me in a few sentences what went well, what did not, and whether the next planned days still suit my form.
Power figures are in watts and % of my FTP; use my zones from get_profile."""
