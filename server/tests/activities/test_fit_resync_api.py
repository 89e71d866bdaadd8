"""Issue 9, bug 7 through the API: a real recording whose record header names an undefined local message
type mid-file is uploaded whole: the records after the damage are recovered, a warning says what was
skipped."""

from __future__ import annotations

import fitdecode

from tests.activities.test_activities_api import upload

RIDE = "fit/Edge810-Vector-2013-08-16-15-35-10.fit"


def damage_a_record_mid_ride(data: bytes) -> tuple[bytes, int, int, list[int]]:
    """The ride with the header byte of its middle record set to a local type not defined by then, read with
    fitdecode (not the server's decoder): the damaged file, where, the record's size, all record times."""
    definitions: list[tuple[int, int]] = []  # (offset, local type)
    records: list[tuple[int, int, int]] = []  # (offset, size, timestamp)
    reader = fitdecode.FitReader(data, keep_raw_chunks=True, processor=None)
    for frame in reader:
        if isinstance(frame, fitdecode.FitDefinitionMessage):
            definitions.append((frame.chunk.offset, frame.local_mesg_num))
        elif isinstance(frame, fitdecode.FitDataMessage) and frame.global_mesg_num == 20:
            records.append((frame.chunk.offset, len(frame.chunk.bytes), frame.get_raw_value("timestamp")))
    at, size, _ = records[len(records) // 2]
    defined = {local for offset, local in definitions if offset < at}
    damaged = bytearray(data)
    damaged[at] = min(set(range(16)) - defined)
    return bytes(damaged), at, size, [timestamp for _, _, timestamp in records]


def test_7_records_after_an_undefined_local_message_are_recovered(client, me, samples):
    original = (samples / RIDE).read_bytes()
    damaged, at, size, times = damage_a_record_mid_ride(original)

    response = upload(client, me, damaged, filename="damaged.fit")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["warnings"][0] == (
        f"skipped {size:,} bytes of damaged data at byte {at:,}; the ride continues after it"
    )
    assert body["warnings"][1].startswith("CRC invalid")  # the file's CRC no longer matches its bytes
    # Before: decoding stopped at the damage, half the ride (2,350 of 4,700 records) lost.
    stream = client.get(f"/api/v1/activities/{body['id']}/streams?types=power", headers=me.headers).json()
    assert len(times) - 3 <= len(stream["time"]) <= len(times) - 1  # all but the damaged record
    # The ride still ends where the device ended it (the last second counted as ridden).
    assert body["elapsedSeconds"] - (max(times) - min(times)) in (0, 1)
