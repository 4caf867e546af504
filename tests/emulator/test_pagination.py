"""Cursor pagination: stable under inserts, bounds, bad cursors."""

from __future__ import annotations

import base64

import pytest

from .conftest import API, error_of


def test_walking_pages_while_inserting_never_skips_or_repeats(client):
    for i in range(20):
        client.post(f"{API}/projects/create", json={"name": f"p{i:02d}"})
    seen: list[str] = []
    cursor = None
    added = 0
    while True:
        if cursor and added < 5:  # someone else keeps creating projects while we walk
            client.post(f"{API}/projects/create", json={"name": f"late{added}"})
            added += 1
        params = {"limit": 6, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/projects/list", params=params).json()
        seen.extend(item["name"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert added >= 3
    assert len(seen) == len(set(seen)) == 1 + 20 + added
    assert seen[:2] == ["default", "p00"] and seen[-1] == f"late{added - 1}"


def test_default_limit_is_100_and_last_page_has_null_cursor(client):
    for i in range(101):
        client.post(f"{API}/projects/create", json={"name": f"n{i}"})
    first = client.get(f"{API}/projects/list").json()
    assert len(first["items"]) == 100 and first["next_cursor"]
    last = client.get(f"{API}/projects/list", params={"cursor": first["next_cursor"]}).json()
    assert len(last["items"]) == 2 and last["next_cursor"] is None


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "1.5"])
def test_limit_bounds(client, limit):
    response = client.get(f"{API}/projects/list", params={"limit": limit})
    assert response.status_code == 400 and error_of(response)["field"] == "limit"


@pytest.mark.parametrize("cursor", ["garbage!", base64.urlsafe_b64encode(b"x1").decode(), "%%%"])
def test_bad_cursor_is_400(client, cursor):
    response = client.get(f"{API}/members/list", params={"cursor": cursor})
    assert response.status_code == 400 and error_of(response)["field"] == "cursor"


def test_limit_1000_is_allowed(client):
    assert client.get(f"{API}/transactions/list", params={"limit": 1000}).status_code == 200
