"""The ``trainerday`` command: the athlete's training from the shell.

Tables and charts go to standard output, progress and messages to standard error; ``--json`` on every
read prints the API's own JSON instead, for scripts. Every failure prints ``error: ...`` and exits non-zero
(1; 2 for a usage mistake).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from trainerday._cli import _upload
from trainerday._cli._chart import fitness_chart
from trainerday._cli._config import config_file, current_login, forget_login, save_login
from trainerday._client import Client
from trainerday._exceptions import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    TrainerDayError,
    ValidationError,
)
from trainerday._models import Activity, CalendarEvent, Model, Workout
from trainerday._version import __version__

app = typer.Typer(
    name="trainerday",
    help="Your TrainerDay training from the command line: profile, calendar, workouts, rides, fitness.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
calendar_app = typer.Typer(help="Planned workouts and notes.", no_args_is_help=True)
workouts_app = typer.Typer(help="Your workout library.", no_args_is_help=True)
activities_app = typer.Typer(help="Your rides: upload, list, download.", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")
app.add_typer(workouts_app, name="workouts")
app.add_typer(activities_app, name="activities")

# No markup: names, titles and the server's messages are the user's text, and "[/]" in a ride's name must
# print as itself, not end a style (or raise). Styles are given as Text.
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, markup=False)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the API's fields) instead of a table.")]


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(Text.assemble(("error:", "bold red"), " ", message))
    raise typer.Exit(code)


def _describe(error: TrainerDayError) -> str:
    if isinstance(error, AuthenticationError):
        return f"{error.message} (run `trainerday login` with a valid key)"
    if isinstance(error, PermissionDeniedError):
        scope = error.required_scope
        return f"{error.message}" + (f" (your key lacks the {scope} scope)" if scope else "")
    if isinstance(error, ValidationError) and error.errors:
        return "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in error.errors)
    return error.message


@contextmanager
def api() -> Iterator[Client]:
    """A client from the stored login or the environment; any API error ends the command with its message."""
    login = current_login()
    if not login.api_key:
        fail("not logged in: run `trainerday login`, or set TRAINERDAY_API_KEY")
    try:
        with Client(api_key=login.api_key, base_url=login.base_url) as client:
            yield client
    except TrainerDayError as error:
        fail(_describe(error))


def print_json(value: Any) -> None:
    if isinstance(value, Model):
        value = value.to_json()
    elif isinstance(value, list):
        value = [item.to_json() if isinstance(item, Model) else item for item in value]
    out.print_json(json.dumps(value, ensure_ascii=False))


def _date(value: str | None, option: str, default: dt.date) -> dt.date:
    if value is None:
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date as YYYY-MM-DD", 2)


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return ""
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours}:{minutes:02d}"


def _number(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _version(value: bool) -> None:
    if value:
        print(f"trainerday {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Sign in once with `trainerday login`; TRAINERDAY_API_KEY and TRAINERDAY_BASE_URL override it."""


# --- login -----------------------------------------------------------------------------------------------


@app.command()
def login(
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="Your td_... key; asked for (not echoed) when omitted.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="The server, default https://api.trainerday.com.")
    ] = None,
) -> None:
    """Check a personal API key and store it, readable by you only, in your config directory."""
    if api_key is None:
        api_key = typer.prompt("API key", hide_input=True)
    api_key = api_key.strip()
    if not api_key:
        fail("the API key is empty", 2)
    url = (base_url or current_login().base_url).rstrip("/")
    try:
        with Client(api_key=api_key, base_url=url) as client:
            athlete = client.athlete.get()
    except TrainerDayError as error:
        fail(f"the key was not stored: {_describe(error)}")
    path = save_login(api_key, url)
    err.print(f"Logged in to {url} as {athlete.name} <{athlete.email}>; key stored in {path}")


@app.command()
def logout() -> None:
    """Forget the stored key."""
    if forget_login():
        err.print(f"removed {config_file()}")
    else:
        err.print("no stored key")


# --- athlete ---------------------------------------------------------------------------------------------


@app.command()
def athlete(as_json: JsonOption = False) -> None:
    """Your profile: FTP, weight, heart rates, time zone."""
    with api() as client:
        me = client.athlete.get()
    if as_json:
        return print_json(me)
    table = Table(show_header=False, box=None)
    rows = [
        ("name", me.name),
        ("email", me.email),
        ("FTP", f"{me.ftp} W"),
        ("weight", f"{me.weight_kg:g} kg" if me.weight_kg else ""),
        ("W/kg", f"{me.ftp / me.weight_kg:.2f}" if me.weight_kg else ""),
        ("LTHR", _number(me.lthr)),
        ("max heart rate", _number(me.max_heart_rate)),
        ("resting heart rate", _number(me.resting_heart_rate)),
        ("time zone", me.timezone),
        ("units", me.units),
    ]
    for name, value in rows:
        table.add_row(Text(name, style="bold"), str(value))
    out.print(table)


@app.command()
def zones(as_json: JsonOption = False) -> None:
    """Your power zones (from FTP) and heart-rate zones (from LTHR)."""
    with api() as client:
        me = client.athlete.get()
    if as_json:
        return print_json(
            {
                "ftp": me.ftp,
                "lthr": me.lthr,
                "powerZones": [z.to_json() for z in me.power_zones],
                "heartRateZones": [z.to_json() for z in me.heart_rate_zones],
            }
        )
    power = Table("zone", "name", "watts", title=f"Power zones (FTP {me.ftp} W)")
    for zone in me.power_zones:
        top = f"{zone.max_watts}" if zone.max_watts is not None else "+"
        power.add_row(f"Z{zone.zone}", zone.name, f"{zone.min_watts}-{top}")
    out.print(power)
    if not me.heart_rate_zones:
        out.print("No heart-rate zones: set your LTHR to have them.")
        return
    heart = Table("zone", "name", "bpm", title=f"Heart-rate zones (LTHR {me.lthr})")
    for hr_zone in me.heart_rate_zones:
        top = f"{hr_zone.max_bpm}" if hr_zone.max_bpm is not None else "+"
        heart.add_row(f"Z{hr_zone.zone}", hr_zone.name, f"{hr_zone.min_bpm}-{top}")
    out.print(heart)


# --- calendar --------------------------------------------------------------------------------------------


def _event_row(event: CalendarEvent) -> tuple[str, ...]:
    metrics = event.metrics
    done = ""
    if event.completed_activity is not None:
        done = f"✓ {event.completed_activity.name}"
        if event.compliance is not None and event.compliance.percent is not None:
            done += f" ({event.compliance.percent} %)"
    return (
        event.calendar_date.isoformat(),
        str(event.id),
        event.type,
        event.title or (event.notes or "")[:60],
        _minutes(metrics.duration_seconds) if metrics else "",
        _number(metrics.tss) if metrics else "",
        done,
    )


@calendar_app.command("list")
def calendar_list(
    start: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: today).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: a week on).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The events between two dates, inclusive."""
    first = _date(start, "--from", dt.date.today())
    last = _date(end, "--to", first + dt.timedelta(days=6))
    with api() as client:
        events = client.calendar.list(first, last)
    if as_json:
        return print_json(events)
    table = Table("date", "id", "type", "title", "h:mm", "TSS", "done", title=f"Calendar {first} to {last}")
    for event in events:
        table.add_row(*_event_row(event))
    out.print(table)


@calendar_app.command("add")
def calendar_add(
    day: Annotated[str, typer.Argument(metavar="DATE", help="YYYY-MM-DD")],
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A workout file: .zwo, .erg, .mrc or .fit")
    ],
    as_json: JsonOption = False,
) -> None:
    """Plan a workout from a file: it is added to your library and planned on DATE."""
    when = _date(day, "DATE", dt.date.today())
    if file.suffix.lower() not in (".zwo", ".erg", ".mrc", ".fit"):
        fail(f"{file}: not a workout file (.zwo, .erg, .mrc or .fit)", 2)
    with api() as client:
        workout = client.workouts.import_file(file)
        event = client.calendar.create_event(when, workout_id=workout.id)
    if as_json:
        return print_json(event)
    metrics = event.metrics
    summary = f" ({_minutes(metrics.duration_seconds)}, TSS {metrics.tss:.0f})" if metrics else ""
    out.print(
        f"planned {event.title}{summary} on {event.calendar_date} (event {event.id}, workout {workout.id})"
    )


@calendar_app.command("note")
def calendar_note(
    day: Annotated[str, typer.Argument(metavar="DATE", help="YYYY-MM-DD")],
    text: Annotated[str, typer.Argument(help="The note")],
    title: Annotated[str | None, typer.Option(help="A short title")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a note on a day."""
    when = _date(day, "DATE", dt.date.today())
    with api() as client:
        event = client.calendar.add_note(when, text, title=title)
    if as_json:
        return print_json(event)
    out.print(f"note added on {event.calendar_date} (event {event.id})")


# --- workouts --------------------------------------------------------------------------------------------


def _workout_table(workouts: list[Workout], title: str) -> Table:
    table = Table("id", "title", "h:mm", "TSS", "IF", "zone", "tags", title=title)
    for workout in workouts:
        metrics = workout.metrics
        table.add_row(
            str(workout.id),
            workout.title,
            _minutes(metrics.duration_seconds),
            _number(metrics.tss),
            _number(metrics.intensity_factor, 2),
            f"Z{metrics.dominant_zone}",
            ", ".join(workout.tags),
        )
    return table


@workouts_app.command("list")
def workouts_list(
    search: Annotated[str | None, typer.Option("--search", help="Part of the title.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Your workouts, newest first."""
    with api() as client:
        if search:
            found = client.workouts.find(name=search, page_size=min(limit, 100)).data
        else:
            found = []
            for workout in client.workouts.iter_all(page_size=min(limit, 100)):
                found.append(workout)
                if len(found) >= limit:
                    break
    if as_json:
        return print_json(found)
    out.print(_workout_table(found, "Workouts"))


@workouts_app.command("show")
def workouts_show(
    workout_id: Annotated[int, typer.Argument(metavar="ID", min=1)], as_json: JsonOption = False
) -> None:
    """One workout with its segments and metrics at your FTP."""
    with api() as client:
        workout = client.workouts.get(workout_id)
    if as_json:
        return print_json(workout)
    out.print(_workout_table([workout], workout.title))
    if workout.description:
        out.print(workout.description)
    segments = Table("#", "minutes", "start %FTP", "end %FTP", "cadence", "type", "text", title="Segments")
    for number, segment in enumerate(workout.segments, 1):
        extra = [*segment[3:], None, None, None, None][:4]
        cadence = (
            ""
            if extra[0] is None
            else f"{extra[0]}" + ("" if extra[1] in (None, extra[0]) else f"-{extra[1]}")
        )
        segments.add_row(
            str(number),
            f"{segment[0]:g}",
            f"{segment[1]:g}",
            f"{segment[2]:g}",
            cadence,
            extra[2] or "",
            extra[3] or "",
        )
    out.print(segments)


def _write(content: bytes, output: Path | None, suggested: str | None, fallback: str) -> None:
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    target = output or Path(suggested or fallback)
    if target.is_dir():
        target = target / (suggested or fallback)
    if target.exists() and (output is None or output.is_dir()):
        # The name came from the server: never let it replace a file the user did not name.
        fail(f"{target} exists: name the file to write with --output")
    try:
        target.write_bytes(content)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror or exc}")
    err.print(f"wrote {target} ({len(content):,} bytes)")


OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="File or folder to write to ('-' for standard output)."),
]


@workouts_app.command("export")
def workouts_export(
    workout_id: Annotated[int, typer.Argument(metavar="ID", min=1)],
    fmt: Annotated[str, typer.Option("--format", help="zwo, erg, mrc or fit")] = "zwo",
    output: OutputOption = None,
) -> None:
    """Download a workout as a file (named after the workout unless --output says otherwise)."""
    fmt = fmt.lower()
    if fmt not in ("zwo", "erg", "mrc", "fit"):
        fail(f"--format: {fmt!r} is not one of zwo, erg, mrc, fit", 2)
    with api() as client:
        exported = client.workouts.export(workout_id, fmt)  # type: ignore[arg-type]
    _write(exported.content, output, exported.file_name, f"workout-{workout_id}.{fmt}")


# --- activities ------------------------------------------------------------------------------------------


def _activity_table(activities: list[Activity], title: str) -> Table:
    table = Table("id", "date", "name", "h:mm", "km", "NP", "TSS", title=title)
    for ride in activities:
        table.add_row(
            str(ride.id),
            ride.start_time_local.strftime("%Y-%m-%d %H:%M"),
            ride.name,
            _minutes(ride.timer_seconds),
            _number(ride.distance_meters / 1000 if ride.distance_meters is not None else None, 1),
            _number(ride.normalized_power),
            _number(ride.tss),
        )
    return table


@activities_app.command("list")
def activities_list(
    start: Annotated[str | None, typer.Option("--from", help="First local date, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last local date, YYYY-MM-DD.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Your rides, newest first."""
    first = _date(start, "--from", dt.date.min) if start else None
    last = _date(end, "--to", dt.date.max) if end else None
    rides: list[Activity] = []
    with api() as client:
        for ride in client.activities.iter_all(start_date=first, end_date=last, page_size=min(limit, 100)):
            rides.append(ride)
            if len(rides) >= limit:
                break
    if as_json:
        return print_json(rides)
    out.print(_activity_table(rides, "Rides"))


@activities_app.command("download")
def activities_download(
    activity_id: Annotated[int, typer.Argument(metavar="ID", min=1)],
    original: Annotated[bool, typer.Option("--original", help="The file as uploaded (the default).")] = False,
    fit: Annotated[
        bool, typer.Option("--fit", help="A FIT file, written from the samples if need be.")
    ] = False,
    output: OutputOption = None,
) -> None:
    """Download a ride's file."""
    if original and fit:
        fail("--original and --fit exclude each other", 2)
    with api() as client:
        downloaded = (
            client.activities.download_fit(activity_id) if fit else client.activities.download(activity_id)
        )
    _write(
        downloaded.content, output, downloaded.file_name, f"activity-{activity_id}" + (".fit" if fit else "")
    )


@activities_app.command("upload")
def activities_upload(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATH...", help="Ride files (FIT, TCX, GPX, gzipped too), folders, zips."),
    ],
    again: Annotated[
        bool,
        typer.Option(
            "--again", help="Send files this machine already uploaded (the server still refuses duplicates)."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Upload rides from files, folders and zip archives (a Strava or Garmin bulk export). Duplicates are
    reported, not fatal; a second run sends only what the first did not."""
    found = _upload.collect(paths)
    results: list[dict[str, Any]] = [
        {"file": label, "status": "failed", "activityId": None, "message": problem}
        for label, problem in found.problems
    ]
    with api() as client:
        account = f"{client.base_url}#{client.athlete.get().id}"
        ledger = _upload.Ledger(account)
        progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        )
        stopped: TrainerDayError | None = None
        processed = 0
        with progress:
            task = progress.add_task("uploading", total=len(found.rides))
            for ride in found.rides:
                progress.update(task, description=Path(ride.file_name).name[:40])
                try:
                    results.append(_upload_one(client, ride, ledger, again))
                except TrainerDayError as error:  # not this file's fault: the server or the key
                    stopped = error
                    break
                processed += 1
                progress.advance(task)
    counts = {status: sum(1 for r in results if r["status"] == status) for status in _STATUSES}
    if as_json:
        print_json({"counts": counts, "files": results})
    else:
        _upload_summary(results, counts)
    if stopped is not None:
        left = len(found.rides) - processed
        fail(f"stopped with {left} file(s) to go: {_describe(stopped)}; run the same command again to resume")
    if counts["failed"]:
        raise typer.Exit(1)


_STATUSES = ("uploaded", "duplicate", "skipped", "failed")


def _upload_one(client: Client, ride: _upload.Ride, ledger: _upload.Ledger, again: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"file": ride.label, "status": "failed", "activityId": None, "message": ""}
    try:
        data = ride.read()
    except (OSError, ValueError) as exc:
        result["message"] = f"cannot read: {exc}"
        return result
    digest = ledger.digest(data)
    if not again and digest in ledger.known:
        result.update(status="skipped", activityId=ledger.known[digest], message="uploaded before")
        return result
    try:
        activity = client.activities.upload(data, file_name=ride.file_name, name=ride.title)
    except ConflictError as conflict:
        if conflict.existing_id is None:
            result["message"] = conflict.message
            return result
        ledger.record(digest, conflict.existing_id)
        result.update(status="duplicate", activityId=conflict.existing_id, message="already stored")
        return result
    except (ValidationError, NotFoundError, ServerError) as refused:
        result["message"] = _describe(refused)
        return result
    ledger.record(digest, activity.id)
    result.update(status="uploaded", activityId=activity.id, message="; ".join(activity.warnings))
    return result


def _upload_summary(results: list[dict[str, Any]], counts: dict[str, int]) -> None:
    table = Table("file", "result", "activity", "note", title="Upload")
    styles = {"uploaded": "green", "duplicate": "yellow", "skipped": "dim", "failed": "bold red"}
    for result in results:
        status = result["status"]
        table.add_row(
            result["file"],
            Text(status, style=styles[status]),
            "" if result["activityId"] is None else str(result["activityId"]),
            result["message"],
        )
    out.print(table)
    out.print(
        f"{counts['uploaded']} uploaded, {counts['duplicate']} duplicates, "
        f"{counts['skipped']} uploaded before, {counts['failed']} failed"
    )


# --- fitness ---------------------------------------------------------------------------------------------


@app.command()
def fitness(
    start: Annotated[str | None, typer.Option("--from", help="First day (default: 90 days ago).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (default: today).")] = None,
    width: Annotated[int, typer.Option(min=10, max=400, help="Chart width in columns.")] = 60,
    as_json: JsonOption = False,
) -> None:
    """Fitness (CTL), fatigue (ATL) and form (TSB) as a small chart."""
    last = _date(end, "--to", dt.date.today())
    first = _date(start, "--from", last - dt.timedelta(days=89))
    with api() as client:
        load = client.athlete.fitness(first, last)
    if as_json:
        return print_json(load)
    out.print(fitness_chart(load.days, width=width))


# --- mcp -------------------------------------------------------------------------------------------------


@app.command("mcp")
def mcp_server(
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="The server (default: the one you logged in to)."),
    ] = None,
) -> None:
    """Serve your TrainerDay tools to a local AI assistant over standard input and output (MCP).

    Add it to the assistant as a local (stdio) MCP server whose command is `trainerday mcp`. It uses the key
    `trainerday login` stored (or TRAINERDAY_API_KEY) and forwards everything to the server's /mcp endpoint.
    """
    login = current_login()
    if not login.api_key:
        fail("not logged in: run `trainerday login`, or set TRAINERDAY_API_KEY")
    try:
        import anyio

        from trainerday._cli._mcp import serve
    except ImportError as missing:
        extra = "pip install 'trainerday[mcp]'"
        fail(f"`trainerday mcp` needs the mcp extra ({missing.name} is missing): {extra}")
    url = (base_url or login.base_url).rstrip("/")
    try:
        anyio.run(serve, login.api_key, url)
    except KeyboardInterrupt:
        pass
    except Exception as error:  # one line on standard error, never a traceback
        fail(f"cannot serve MCP from {url}/mcp: {_first_cause(error)}")


def _first_cause(error: BaseException) -> str:
    """The first real error inside task-group exception groups (the SDK runs the session in one)."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return str(error) or type(error).__name__
