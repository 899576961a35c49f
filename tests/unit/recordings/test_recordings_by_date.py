"""録画一覧's 日付: the page where a day of the service's time zone begins, or a clear 422."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from sqlalchemy import insert

from tests.support.client import Account, Client
from tests.support.factories import DeviceFactory
from webapp import clock
from webapp.enums import RecordingKind
from webapp.extensions import db
from webapp.models import Recording
from webapp.recordings.views import RECORDINGS_PER_PAGE


@pytest.fixture
def hourly(app: Flask, contractor: Account) -> dict[str, object]:
    """A camera with an image every hour for the last 60 hours (rows only: no file needed)."""
    with app.app_context():
        device = DeviceFactory(contract_id=contractor.contract_id, name="Lobby")
        today = clock.today()
        # Whole hours of the service's day, so that days begin exactly on a recording.
        newest = clock.start_of(today) - dt.timedelta(hours=1)
        rows = [
            {
                "device_id": device.id,
                "kind": RecordingKind.IMAGE,
                "captured_at": newest - dt.timedelta(hours=n),
                "content_type": "image/png",
                "size_bytes": 1,
                "storage_key": f"c{contractor.contract_id}/d{device.id}/h{n}.png",
            }
            for n in range(60)
        ]
        db.session.execute(insert(Recording), rows)
        db.session.commit()
        return {"device": device.id, "today": today, "newest": newest}


def ids_on_page(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="tile[^"]*" id="recording-(\d+)"', html)]


def test_a_date_pages_to_where_that_day_begins(
    app: Flask, logged_in: Client, hourly: dict[str, object]
) -> None:
    today = hourly["today"]
    assert isinstance(today, dt.date)
    # Newest first: yesterday's 24 hourly images (23:00 down to 00:00), then the day before
    # (24 more), then the day before that, which begins at the 49th: page 2.
    three_days_ago = today - dt.timedelta(days=3)
    response = logged_in.get(
        f"/devices/{hourly['device']}/recordings?date={three_days_ago.isoformat()}"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 / 2" in html  # the pager's position
    day = f"{three_days_ago.year}年{three_days_ago.month}月{three_days_ago.day}日"
    assert f"{day}の録画から表示しています。" in html
    first = ids_on_page(html)[0]
    assert f'<li class="tile tile-current" id="recording-{first}" aria-current="true">' in html
    with app.app_context():
        taken = db.session.get(Recording, first).captured_at
    assert clock.day_of(taken) == three_days_ago
    assert clock.local(taken).hour == 23  # the newest of that day
    assert f'value="{three_days_ago.isoformat()}"' in html  # the field keeps the date

    yesterday = today - dt.timedelta(days=1)
    page_one = logged_in.get(f"/devices/{hourly['device']}/recordings?date={yesterday}")
    assert "1 / 2" in page_one.get_data(as_text=True)


def test_a_day_without_recordings_opens_at_the_older_ones(
    logged_in: Client, hourly: dict[str, object]
) -> None:
    today = hourly["today"]
    assert isinstance(today, dt.date)
    # Today has none yet (the newest was taken an hour before it began).
    html = logged_in.get(f"/devices/{hourly['device']}/recordings?date={today}").get_data(
        as_text=True
    )
    day = f"{today.year}年{today.month}月{today.day}日"
    assert f"{day}の録画はありません。それより前の録画から表示しています。" in html
    assert "1 / 2" in html
    # Long before the first recording: nothing that old, the end of the list.
    html = logged_in.get(f"/devices/{hourly['device']}/recordings?date=2001-01-01").get_data(
        as_text=True
    )
    assert "2001年1月1日以前の録画はありません。" in html
    assert "2 / 2" in html
    assert "tile-current" not in html


def test_days_are_the_service_time_zones(
    app: Flask, logged_in: Client, contractor: Account
) -> None:
    """00:30 in Tokyo is the previous day in UTC: it belongs to Tokyo's day."""
    with app.app_context():
        device = DeviceFactory(contract_id=contractor.contract_id)
        day = clock.today() - dt.timedelta(days=2)
        early = Recording(
            device_id=device.id,
            kind=RecordingKind.IMAGE,
            captured_at=clock.start_of(day) + dt.timedelta(minutes=30),
            content_type="image/png",
            size_bytes=1,
            storage_key=f"c{contractor.contract_id}/d{device.id}/early.png",
        )
        db.session.add(early)
        db.session.commit()
        device_id, early_id = device.id, early.id
    assert early.captured_at.date() != day  # stored in UTC, on the day before
    html = logged_in.get(f"/devices/{device_id}/recordings?date={day}").get_data(as_text=True)
    assert f'id="recording-{early_id}" aria-current="true"' in html
    assert "の録画から表示しています。" in html


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-02-30", "日付が正しくありません。"),
        ("2026-13-01", "日付が正しくありません。"),
        ("20261120", "日付が正しくありません。"),
        ("tomorrow", "日付が正しくありません。"),
        ("2026-11-20' OR 1=1", "日付が正しくありません。"),
        ("0001-01-01", "日付は 1970-01-01 から 9999-12-30 までの間で入力してください。"),
        ("9999-12-31", "日付は 1970-01-01 から 9999-12-30 までの間で入力してください。"),
    ],
)
def test_a_date_off_the_calendar_is_422_next_to_the_field(
    logged_in: Client, hourly: dict[str, object], value: str, message: str
) -> None:
    response = logged_in.get(
        f"/devices/{hourly['device']}/recordings", query_string={"date": value}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'<p class="field-error" id="date-error">{message}' in html
    assert 'aria-describedby="date-error" aria-invalid="true"' in html
    # The list stays as it was: the newest recordings, page 1.
    assert "1 / 2" in html and "tile-current" not in html
    assert "録画: 60件" in html


def test_an_empty_date_is_the_plain_list(logged_in: Client, hourly: dict[str, object]) -> None:
    response = logged_in.get(f"/devices/{hourly['device']}/recordings?date=")
    assert response.status_code == 200
    assert "tile-current" not in response.get_data(as_text=True)


def test_the_date_form_works_without_javascript(
    logged_in: Client, hourly: dict[str, object]
) -> None:
    html = logged_in.get(f"/devices/{hourly['device']}/recordings").get_data(as_text=True)
    form = re.search(r'<form class="recording-jump" method="get" action="([^"]+)">', html)
    assert form and form.group(1) == f"/devices/{hourly['device']}/recordings"
    assert '<label for="date">日付</label>' in html
    assert 'type="date"' in html
    assert RECORDINGS_PER_PAGE == 48
