"""Iterators walk every page, stop at the total, and survive a row added while they run."""

from __future__ import annotations

import asyncio

import httpx
from mock_api import WORKOUT, ok

import trainerday as td


def library(total: int, inserted_after_first_page: int = 0):
    ids = list(range(total, 0, -1))  # newest first
    pages: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        pages.append(request)
        page, size = int(request.url.params["page"]), int(request.url.params["pageSize"])
        current = ids
        if len(pages) > 1 and inserted_after_first_page:
            current = list(range(total + inserted_after_first_page, total, -1)) + ids
        chunk = current[(page - 1) * size : page * size]
        return ok({"data": [WORKOUT | {"id": i} for i in chunk], "page": page, "pageSize": size,
                   "total": len(current)})  # fmt: skip

    return httpx.MockTransport(answer), pages


def test_iter_all_walks_every_page_once():
    transport, pages = library(250)
    client = td.Client(api_key="td_x", base_url="http://t", transport=transport)
    ids = [w.id for w in client.workouts.iter_all(page_size=100)]
    assert ids == list(range(250, 0, -1))
    assert [int(r.url.params["page"]) for r in pages] == [1, 2, 3]


def test_an_exact_multiple_stops_without_an_empty_page():
    transport, pages = library(200)
    client = td.Client(api_key="td_x", base_url="http://t", transport=transport)
    assert len(list(client.workouts.iter_all(page_size=100))) == 200 and len(pages) == 2


def test_empty_library():
    transport, pages = library(0)
    client = td.Client(api_key="td_x", base_url="http://t", transport=transport)
    assert list(client.workouts.iter_all()) == [] and len(pages) == 1


def test_a_row_added_meanwhile_is_not_yielded_twice():
    transport, _ = library(30, inserted_after_first_page=1)
    client = td.Client(api_key="td_x", base_url="http://t", transport=transport)
    ids = [w.id for w in client.workouts.iter_all(page_size=10)]
    assert len(ids) == len(set(ids)) and set(range(1, 31)) <= set(ids)


def test_activities_iterator_passes_the_date_range():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"data": [], "page": 1, "pageSize": 100, "total": 0})

    client = td.Client(api_key="td_x", base_url="http://t", transport=httpx.MockTransport(answer))
    assert list(client.activities.iter_all(start_date="2026-01-01", end_date="2026-01-31")) == []
    assert seen[0].url.params["startDate"] == "2026-01-01" and seen[0].url.params["endDate"] == "2026-01-31"


def test_async_iter_all():
    transport, _ = library(150)

    async def collect() -> list[int]:
        async def handler(request: httpx.Request) -> httpx.Response:
            return transport.handle_request(request)

        async with td.AsyncClient(api_key="td_x", base_url="http://t",
                                  transport=httpx.MockTransport(handler)) as client:  # fmt: skip
            return [w.id async for w in client.workouts.iter_all(page_size=100)]

    assert asyncio.run(collect()) == list(range(150, 0, -1))
