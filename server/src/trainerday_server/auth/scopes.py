"""The scopes a credential may carry. Every /api/v1 route requires exactly one of them."""

from __future__ import annotations

from trainerday_server.errors import ValidationFailed

SCOPES: dict[str, str] = {
    "athlete:read": "Read your profile, FTP and training zones",
    "athlete:write": "Change your profile, FTP and training zones",
    "workout:read": "Read your workout library",
    "workout:write": "Create, change and delete workouts in your library",
    "calendar:read": "Read your training calendar",
    "calendar:write": "Plan, change and delete workouts and notes on your calendar",
    "activities:read": "Read your rides and their files",
    "activities:write": "Upload, change and delete rides",
}
ALL_SCOPES = frozenset(SCOPES)


def parse_scopes(text: str | None, *, field: str = "scopes") -> frozenset[str]:
    """Parse a space-separated scope list (commas are accepted too); None or empty means every scope."""
    if text is None or not text.strip():
        return ALL_SCOPES
    requested = frozenset(text.replace(",", " ").split())
    unknown = sorted(requested - ALL_SCOPES)
    if unknown:
        raise ValidationFailed.single(
            field, f"unknown scope(s) {', '.join(unknown)}; valid scopes are {', '.join(sorted(ALL_SCOPES))}"
        )
    return requested


def format_scopes(scopes: frozenset[str] | set[str]) -> str:
    """Canonical form: sorted, space-separated."""
    return " ".join(sorted(scopes))
