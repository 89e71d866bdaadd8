"""Activity files (FIT, TCX, GPX, gzipped or not) → Recording. Pure: no HTTP, no DB.
(``activities.fitexport`` writes a Recording back as FIT.)

What decoders promise about the Recording they return:

- ``time``: seconds since ``start_time`` (UTC, the first sample), in order; samples without a time are
  left out (with a warning; a file where most have none is refused), exact repeats are dropped. FIT times
  are whole seconds, TCX/GPX ones may have fractions. Recordings span at most 7 days.
- ``channels``: only channels with at least one value; NaN where a sample lacks one or the device wrote
  FIT's "invalid" value. Positions in degrees; distance as the device recorded it.
- ``pauses``: FIT only, from timer events: (stop, next start) in seconds since the start, clipped to the
  samples' span, in order. Gaps in TCX/GPX samples are left for the metrics to judge.
- ``summary``: FIT only: the device's sessions, several (multisport, chained files) added up, averages
  weighted by timer time, maxima the largest, as the file gives them (the metrics judge them against the
  records).
- ``sport``/``sub_sport``: FIT names ("cycling", "indoor_cycling"...); TCX/GPX types mapped onto them;
  sessions of different sports make "multisport".
- ``warnings``: what was wrong with a damaged file and how much was recovered.
"""

from .detect import DEFAULT_MAX_BYTES, DecodedUpload, decode_activity, decode_upload, read_upload

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DecodedUpload",
    "decode_activity",
    "decode_upload",
    "read_upload",
]
