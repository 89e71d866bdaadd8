"""What the FIT decoder reads from a segment's messages, and the shape in which both body decoders (fitdecode,
the reference, in ``fit.py``; the fast path in ``fitfast.py``) hand it back, so that their results can be
compared value for value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trainerday_server.errors import ActivityFileError

# The record fields we read, by FIT profile name. Values are scaled as the profile says (W, m/s, m, °C) and
# positions stay in semicircles; NaN stands for FIT's invalid value or a field the record lacks.
RECORD_FIELDS = (
    "timestamp",
    "power",
    "heart_rate",
    "cadence",
    "enhanced_speed",
    "speed",
    "distance",
    "enhanced_altitude",
    "altitude",
    "position_lat",
    "position_long",
    "temperature",
)
MESG_RECORD = 20
# FIT ``date_time`` values below this count seconds since the device was switched on, not since the epoch.
FIT_DATETIME_MIN = 0x10000000

# The other messages we read, by global number, and the field numbers we want from each. Their values are
# as fitdecode gives them without a data processor: enums by name, numbers scaled, date_time as FIT seconds.
MESG_FILE_ID, MESG_SPORT, MESG_SESSION, MESG_EVENT = 0, 12, 18, 21
MESSAGE_FIELDS: dict[int, tuple[int, ...]] = {
    MESG_FILE_ID: (0, 1, 2, 8),  # type, manufacturer, product, product_name
    MESG_SPORT: (0, 1),  # sport, sub_sport
    # start_time, sport, sub_sport, total_elapsed_time, total_timer_time, total_distance, avg_heart_rate,
    # max_heart_rate, avg_cadence, avg_power, max_power, total_ascent, normalized_power,
    # training_stress_score, intensity_factor, threshold_power, total_work
    MESG_SESSION: (2, 5, 6, 7, 8, 9, 16, 17, 18, 20, 21, 22, 34, 35, 36, 45, 48),
    MESG_EVENT: (0, 1, 253),  # event, event_type, timestamp
}


# Bounds on what one file may make us hold, whatever it declares: over 11 days at 1 Hz, far more timer events
# and sessions than any ride has.
# Memory: a record is held as 8 bytes a field it has (fields no record has get no column), beside the file:
# a million records of timestamp and power add ~40 MB at the peak, of every channel ~135 MB.
MAX_RECORDS = 1_000_000
MAX_MESSAGES = 50_000

# And on the work it may make us do. A message can be one byte and gzip shrinks repeats a thousandfold, so
# neither the size limit nor the record limit bounds it: a 20 kB upload can hold 20 million messages. Work is
# counted in units of about 0.3 µs, the fast path's step over one message; the other steps are weighed by
# what they were measured to cost (bench/activities_hostile.py). MAX_WORK is about a second: three million
# messages for the fast path, three times the records of a file at the record limit; for fitdecode, ten
# times slower a value, some five hours of a 1 Hz ride with a dozen fields a record.
MAX_WORK = 3_000_000
WORK_PER_DEFINITION_FIELD = 2  # the fast path parsing a definition it has not met in the segment
WORK_PER_MESSAGE_READ = 16  # the fast path reading the values of a message we keep (file_id, session...)
WORK_PER_FITDECODE_VALUE = 10  # fitdecode reading a message or one of its fields
# Resync after damage (a data message naming a local type never defined): the byte offsets one file may try
# for a record header that reads again, each costing a unit of work too. 65,536 bytes of damage are far more
# than a flipped byte or a lost block leaves; past them the rest of the segment is given up, as before.
MAX_RESYNC_OFFSETS = 65_536
# A resync point must carry a timestamp this close after the last one read (a ride resumed after a long
# pause is still the ride), or at most a minute before it: random bytes rarely pass both checks.
RESYNC_MAX_GAP_SECONDS = 12 * 3600
RESYNC_MAX_BACKSTEP_SECONDS = 60


def keep_message(messages: dict[int, list[dict[int, Any]]], number: int, values: dict[int, Any]) -> None:
    """Keep a message's values: of events only the timer's, and at most MAX_MESSAGES of a kind."""
    kept = messages[number]
    if (number != MESG_EVENT or values.get(0) == "timer") and len(kept) < MAX_MESSAGES:
        kept.append(values)


def too_many_records() -> ActivityFileError:
    return ActivityFileError(f"this FIT file holds over {MAX_RECORDS:,} records, too many for one activity")


@dataclass(slots=True)
class WorkBudget:
    """The work one file may still cost (see MAX_WORK): every segment draws on it, both body decoders alike,
    so chaining segments or falling back to fitdecode buys no more."""

    left: int
    slow_because: str | None = None  # why the fast path gave up, once fitdecode decodes instead
    resync_offsets_left: int = MAX_RESYNC_OFFSETS

    def spend(self, work: int, offset: int) -> None:
        self.left -= work
        if self.left < 0:
            raise self.exhausted(offset)

    def exhausted(self, offset: int) -> ActivityFileError:
        """The refusal once the budget is spent, decoding having reached byte ``offset``."""
        if self.slow_because is None:
            what = "this FIT file holds more messages than one activity may"
        else:
            what = (
                f"this FIT file needs the slow decoder ({self.slow_because}) and holds more than it may "
                "decode for one activity"
            )
        return ActivityFileError(f"{what}: decoding stopped at byte {offset:,}", extra={"offset": offset})


@dataclass(frozen=True, slots=True)
class BodyStop:
    """Where a body decoder stopped before the end of a segment's messages."""

    offset: int  # file offset of the first message not decoded
    truncated: bool  # True: the file ends there or inside that message; False: the message is unreadable
    reason: str = ""  # what was unreadable


@dataclass(slots=True)
class SegmentContent:
    """What a body decoder read from one FIT segment."""

    # RECORD_FIELDS name -> float64 array, one value per record, file order; "timestamp" always, the others
    # may be left out when no record has them (all NaN)
    columns: dict[str, np.ndarray]
    messages: dict[int, list[dict[int, Any]]] = field(default_factory=dict)  # global number -> field values
    stop: BodyStop | None = None
    skipped: list[tuple[int, int]] = field(default_factory=list)  # damage resynced past: (offset, bytes)

    @property
    def record_count(self) -> int:
        return int(self.columns["timestamp"].shape[0])
