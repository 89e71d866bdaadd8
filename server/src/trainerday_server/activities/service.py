"""Activities: upload (decode, metrics, store, link to the plan), read, change, delete. No HTTP here.

An upload is all or nothing. The file is decoded and measured before the database is touched for writing;
then, in one transaction that holds the athlete's row lock (so two uploads of one athlete never race past
the duplicate checks), duplicates are refused, the original is written to the file storage, the row is
inserted and linked to the day's planned workout. If anything fails from the file write on, the file is
deleted again: a refused or failed upload leaves neither a row nor a file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker, undefer

from trainerday_server.activities.files import decode_upload, read_upload
from trainerday_server.activities.files.detect import DecodedUpload
from trainerday_server.activities.fitexport import recording_to_fit
from trainerday_server.activities.linking import plan_for_ride
from trainerday_server.activities.metrics import RideMetrics, ride_metrics
from trainerday_server.activities.recording import Recording
from trainerday_server.activities.storage import FileStorage
from trainerday_server.activities.streams import decode_streams, encode_streams, streams_to_json
from trainerday_server.analytics.curves import encode_curve
from trainerday_server.analytics.ftp import ftp_suggestions
from trainerday_server.athlete.service import bump_data_revision, ftp_on, get_athlete
from trainerday_server.db import session_scope
from trainerday_server.errors import Conflict, NotFound, ValidationFailed
from trainerday_server.models import Activity, ActivityPowerCurve, Athlete

# Another file of the same ride: it starts within this many seconds of an existing activity and its elapsed
# time is within DUPLICATE_DURATION of that activity's (a device's own elapsed time and the span of an
# export's points differ by a few seconds per pause).
DUPLICATE_START_SECONDS = 5
DUPLICATE_DURATION = (60, 0.10)  # seconds, or this fraction of the longer one, whichever is more
MAX_PAGE_SIZE = 100
MAX_NAME = 200
MAX_DESCRIPTION = 10_000
MAX_EXTERNAL_ID = 255

CONTENT_TYPES = {
    "fit": "application/vnd.ant.fit",
    "tcx": "application/vnd.garmin.tcx+xml",
    "gpx": "application/gpx+xml",
}
# The figures a list item carries; the detail has everything.
_DETAIL_ONLY = ("timeInPowerZones", "timeInHeartRateZones", "warnings")


@dataclass(frozen=True)
class UploadInfo:
    """What the athlete sent beside the file."""

    name: str | None = None
    description: str | None = None
    external_id: str | None = None
    file_name: str | None = None


@dataclass(frozen=True)
class _Measured:
    decoded: DecodedUpload
    metrics: RideMetrics
    ftp: int


# --- upload ----------------------------------------------------------------------------------------------


def upload_activity(
    read_sessions: sessionmaker[Session],
    write_sessions: sessionmaker[Session],
    storage: FileStorage,
    athlete_id: int,
    source: Any,
    info: UploadInfo,
    max_bytes: int,
) -> dict[str, Any]:
    """Decode, measure, store and link one uploaded file; the new activity as the API shows it.

    Raises ActivityFileError (400), PayloadTooLarge (413), ValidationFailed (400) and Conflict (409, with
    ``existingActivityId``) for a duplicate. ``source`` is the upload: bytes or a binary file object.
    """
    _check_info(info)
    decoded = decode_upload(source, max_bytes)
    decoded = dataclasses.replace(decoded, recording=_file_texts_within_limits(decoded.recording, info))
    with session_scope(read_sessions) as session:
        measured = _measure(session, athlete_id, decoded)
    sha256 = hashlib.sha256(decoded.original).hexdigest()
    key = f"activities/{athlete_id}/{uuid.uuid4().hex}.{decoded.format}{'.gz' if decoded.gzipped else ''}"
    written = False
    try:
        with session_scope(write_sessions) as session:
            _lock_athlete(session, athlete_id)
            _refuse_duplicates(session, athlete_id, sha256, info.external_id, measured.metrics)
            activity = _new_activity(athlete_id, measured, info, key, sha256)
            activity.calendar_event_id = plan_for_ride(session, activity)
            storage.store(key, decoded.original)
            written = True
            try:
                with session.begin_nested():
                    session.add(activity)
            except IntegrityError:  # only if the checks above were raced past; answer as they would
                _refuse_duplicates(session, athlete_id, sha256, info.external_id, measured.metrics)
                raise
            session.add(_curve_row(activity))
            # Fitness, the season curve and summaries read every ride, linked to the plan or not.
            bump_data_revision(session, athlete_id)
            body = activity_json(activity, detail=True)
    except BaseException:
        if written:
            storage.delete(key)
        raise
    return body


def _check_info(info: UploadInfo) -> None:
    if info.name is not None and not 1 <= len(info.name.strip()) <= MAX_NAME:
        raise ValidationFailed.single("name", f"must be 1 to {MAX_NAME} characters")
    if info.description is not None and len(info.description) > MAX_DESCRIPTION:
        raise ValidationFailed.single("description", f"must be at most {MAX_DESCRIPTION:,} characters")
    external = info.external_id
    if external is not None and not (1 <= len(external) <= MAX_EXTERNAL_ID and external.isprintable()):
        raise ValidationFailed.single("externalId", f"must be 1 to {MAX_EXTERNAL_ID} printable characters")


def _file_texts_within_limits(recording: Recording, info: UploadInfo) -> Recording:
    """The file's name and description, where they become the activity's, cut to the lengths PATCH allows,
    with a warning: text in the file is no reason to refuse the ride (the athlete's own text is checked)."""
    warnings = list(recording.warnings)
    name, description = recording.name, recording.description
    if info.name is None and name is not None:
        name = _cut(name.strip(), MAX_NAME, "name", warnings)
    if info.description is None and description is not None:
        description = _cut(description, MAX_DESCRIPTION, "description", warnings)
    return dataclasses.replace(recording, name=name, description=description, warnings=warnings)


def _cut(text: str, limit: int, what: str, warnings: list[str]) -> str:
    if len(text) <= limit:
        return text
    warnings.append(f"the file's {what} of {len(text):,} characters was cut to its first {limit:,}")
    return text[:limit]


def _measure(session: Session, athlete_id: int, decoded: DecodedUpload) -> _Measured:
    """The ride's metrics at the FTP in force on its local date, with the athlete's LTHR and time zone."""
    athlete = get_athlete(session, athlete_id)
    local_date = decoded.recording.start_time.astimezone(ZoneInfo(athlete.timezone)).date()
    ftp = ftp_on(session, athlete_id, local_date)
    metrics = ride_metrics(decoded.recording, ftp, athlete.lthr, athlete.timezone)
    return _Measured(decoded, metrics, ftp)


def _lock_athlete(session: Session, athlete_id: int) -> None:
    """Serialise this athlete's uploads (PostgreSQL row lock; SQLite write transactions already are)."""
    session.execute(sa.select(Athlete.id).where(Athlete.id == athlete_id).with_for_update())


def _refuse_duplicates(
    session: Session, athlete_id: int, sha256: str, external_id: str | None, metrics: RideMetrics
) -> None:
    mine = Activity.athlete_id == athlete_id
    same_file = session.scalar(sa.select(Activity.id).where(mine, Activity.file_sha256 == sha256))
    if same_file is not None:
        raise _duplicate(same_file, f"this file was already uploaded as activity {same_file}")
    if external_id is not None:
        same_external = session.scalar(
            sa.select(Activity.id).where(mine, Activity.external_id == external_id)
        )
        if same_external is not None:
            raise _duplicate(
                same_external, f"activity {same_external} already has externalId {external_id!r}"
            )
    window = dt.timedelta(seconds=DUPLICATE_START_SECONDS)
    nearby = session.execute(
        sa.select(Activity.id, Activity.elapsed_seconds)
        .where(mine, Activity.start_time.between(metrics.start_time - window, metrics.start_time + window))
        .order_by(Activity.id)
    )
    elapsed = metrics.elapsed_seconds
    for activity_id, other in nearby:
        if abs(other - elapsed) <= max(DUPLICATE_DURATION[0], DUPLICATE_DURATION[1] * max(other, elapsed)):
            raise _duplicate(
                activity_id,
                f"this ride is already activity {activity_id}: it starts within {DUPLICATE_START_SECONDS} s "
                "of it and lasts as long",
            )


def _duplicate(activity_id: int, detail: str) -> Conflict:
    return Conflict(
        f"{detail}; nothing was stored",
        extra={"existingActivityId": activity_id},
    )


def _new_activity(athlete_id: int, measured: _Measured, info: UploadInfo, key: str, sha256: str) -> Activity:
    recording, metrics = measured.decoded.recording, measured.metrics
    summary = metrics.to_json()
    curve = summary.pop("powerCurve")
    return Activity(
        athlete_id=athlete_id,
        name=(info.name or recording.name or _default_name(recording, metrics)).strip(),
        description=info.description if info.description is not None else recording.description,
        external_id=info.external_id,
        sport=recording.sport,
        sub_sport=recording.sub_sport,
        device=recording.device[:200] if recording.device else None,
        start_time=metrics.start_time,
        local_date=metrics.start_time_local.date(),
        elapsed_seconds=summary["elapsedSeconds"],
        timer_seconds=summary["timerSeconds"],
        tss=summary["tss"],
        ftp=measured.ftp,
        metrics=summary,
        power_curve=curve,
        file_key=key,
        file_name=_file_name(info.file_name),
        file_format=measured.decoded.format,
        file_gzipped=measured.decoded.gzipped,
        file_size=len(measured.decoded.original),
        file_sha256=sha256,
        streams=encode_streams(recording.time, recording.channels),
    )


def _curve_row(activity: Activity) -> ActivityPowerCurve:
    """The ride's power curve as the season curve reads it (see analytics.curves)."""
    return ActivityPowerCurve(
        activity_id=activity.id,
        athlete_id=activity.athlete_id,
        local_date=activity.local_date,
        watts=encode_curve(activity.power_curve),
    )


def _default_name(recording: Recording, metrics: RideMetrics) -> str:
    """As athletes know it from Strava: "Morning Ride", "Evening Run"."""
    hour = metrics.start_time_local.hour
    part = (
        "Night"
        if hour < 5 or hour >= 21
        else "Morning"
        if hour < 12
        else "Afternoon"
        if hour < 17
        else "Evening"
    )
    kind = {"cycling": "Ride", "running": "Run", "walking": "Walk", "hiking": "Hike", "swimming": "Swim"}
    return f"{part} {kind.get(recording.sport or '', 'Activity')}"


def _file_name(name: str | None) -> str | None:
    """The uploaded file's base name, without any directory a client sent, for Content-Disposition."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable() and c not in '"')
    return base[:255] or None


# --- reading ---------------------------------------------------------------------------------------------


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def activity_json(activity: Activity, *, detail: bool) -> dict[str, Any]:
    """The API shape: identity, then the metrics; the detail adds zones, power curve and warnings."""
    metrics = dict(activity.metrics)
    if not detail:
        for name in _DETAIL_ONLY:
            metrics.pop(name, None)
    body: dict[str, Any] = {
        "id": activity.id,
        "name": activity.name,
        "sport": activity.sport,
        "subSport": activity.sub_sport,
        **metrics,
        "ftp": activity.ftp,
        "calendarEventId": activity.calendar_event_id,
        "externalId": activity.external_id,
    }
    if detail:
        body["powerCurve"] = activity.power_curve
        body["suggestions"] = ftp_suggestions(activity.power_curve, activity.ftp)
        body["description"] = activity.description
        body["device"] = activity.device
        body["file"] = {
            "name": activity.file_name,
            "format": activity.file_format,
            "gzipped": activity.file_gzipped,
            "size": activity.file_size,
        }
    body["createdAt"] = _timestamp(activity.created_at)
    body["updatedAt"] = _timestamp(activity.updated_at)
    return body


def get_activity(session: Session, athlete_id: int, activity_id: int, *columns: Any) -> Activity:
    """The athlete's activity (with the deferred ``columns`` loaded); another athlete's id is as absent as a
    missing one."""
    query = sa.select(Activity).where(Activity.id == activity_id, Activity.athlete_id == athlete_id)
    if columns:
        query = query.options(*(undefer(column) for column in columns))
    activity = session.scalar(query)
    if activity is None:
        raise NotFound(f"no activity with id {activity_id}")
    return activity


def list_activities(
    session: Session,
    athlete_id: int,
    page: int,
    page_size: int,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
) -> dict[str, Any]:
    """One page of the athlete's activities, newest first, optionally between two local dates (inclusive)."""
    if start_date and end_date and end_date < start_date:
        raise ValidationFailed.single("endDate", f"{end_date} is before startDate {start_date}")
    conditions = [Activity.athlete_id == athlete_id]
    if start_date is not None:
        conditions.append(Activity.local_date >= start_date)
    if end_date is not None:
        conditions.append(Activity.local_date <= end_date)
    total = session.scalar(sa.select(sa.func.count()).select_from(Activity).where(*conditions)) or 0
    rows = session.scalars(
        sa.select(Activity)
        .where(*conditions)
        .order_by(Activity.start_time.desc(), Activity.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return {
        "data": [activity_json(a, detail=False) for a in rows],
        "page": page,
        "pageSize": page_size,
        "total": total,
    }


def activity_detail(session: Session, athlete_id: int, activity_id: int) -> dict[str, Any]:
    return activity_json(get_activity(session, athlete_id, activity_id, Activity.power_curve), detail=True)


def power_curve(session: Session, athlete_id: int, activity_id: int) -> dict[str, Any]:
    activity = get_activity(session, athlete_id, activity_id, Activity.power_curve)
    return activity.power_curve or {"seconds": [], "watts": []}


def streams(session: Session, athlete_id: int, activity_id: int, types: str | None) -> dict[str, Any]:
    """``time`` and the requested streams (all recorded ones when ``types`` is None); a requested stream the
    ride did not record is null."""
    activity = get_activity(session, athlete_id, activity_id, Activity.streams)
    decoded = decode_streams(activity.streams, types)
    body: dict[str, Any] = streams_to_json(decoded)
    if types is not None:
        for name in (t.strip() for t in types.split(",")):
            if name and name not in body:
                body[name] = None
    return body


def original_file(
    session: Session, storage: FileStorage, athlete_id: int, activity_id: int
) -> tuple[bytes, str, str]:
    """The upload byte for byte, its content type and a file name to offer."""
    activity = get_activity(session, athlete_id, activity_id)
    data = storage.read(activity.file_key)
    content_type = "application/gzip" if activity.file_gzipped else CONTENT_TYPES[activity.file_format]
    suffix = f".{activity.file_format}" + (".gz" if activity.file_gzipped else "")
    return data, content_type, activity.file_name or f"activity-{activity.id}{suffix}"


def fit_file(session: Session, storage: FileStorage, athlete_id: int, activity_id: int) -> tuple[bytes, str]:
    """The ride as a FIT file: the original when it was one (un-gzipped), else one written from its streams
    with the activity's metrics in its session; and a file name."""
    activity = get_activity(session, athlete_id, activity_id, Activity.streams)
    name = f"activity-{activity.id}.fit"
    if activity.file_format == "fit":
        data = storage.read(activity.file_key)
        # Checked against the size limit when it was uploaded; a limit lowered since must not hide it, so
        # the bound is deflate's own: it never expands data more than 1032-fold.
        return (read_upload(data, len(data) * 1032 + 1024)[1] if activity.file_gzipped else data), name
    columns = decode_streams(activity.streams)
    time = columns.pop("time")
    recording = Recording(
        format=activity.file_format,
        start_time=activity.start_time,
        time=time,
        channels={k: np.asarray(v) for k, v in columns.items()},
        sport=activity.sport,
        sub_sport=activity.sub_sport,
    )
    # The ride's own local time, fixed at upload (startTimeLocal), not the athlete's time zone of today.
    local_start = dt.datetime.fromisoformat(activity.metrics["startTimeLocal"])
    return recording_to_fit(recording, ftp=activity.ftp, timezone=local_start.tzinfo or dt.UTC), name


# --- changing --------------------------------------------------------------------------------------------


def update_activity(session: Session, athlete_id: int, activity_id: int, changes: dict[str, Any]) -> Activity:
    """Rename or re-describe; the calendar shows a completed workout's activity name, so its read changes."""
    activity = get_activity(session, athlete_id, activity_id, Activity.power_curve)
    if "name" in changes:
        name = changes["name"]
        if name is None or not name.strip():
            raise ValidationFailed.single("name", "cannot be empty")
        activity.name = name.strip()
        if activity.calendar_event_id is not None:
            bump_data_revision(session, athlete_id)
    if "description" in changes:
        activity.description = changes["description"]
    session.flush()
    return activity


def delete_activity(
    write_sessions: sessionmaker[Session], storage: FileStorage, athlete_id: int, activity_id: int
) -> None:
    """Delete the row, and once that is committed, its file (a failed delete never loses a file that a row
    still points to; a crash in between leaves an orphan file, never a row without its file)."""
    with session_scope(write_sessions) as session:
        activity = get_activity(session, athlete_id, activity_id)
        key = activity.file_key
        session.delete(activity)  # its curve row goes with it (ON DELETE CASCADE)
        bump_data_revision(session, athlete_id)  # fitness and summaries read every ride
    storage.delete(key)
