"""A pretend network camera: heartbeats and generated images, over the device API.

It speaks only HTTP to the portal, as real hardware would, so it serves for demos
(`make run` starts one) and for load tests. Images are drawn, not captured: a sky that
follows the time of day, a moving marker and the time, so successive images differ.
Given a secret file, it reads its secret there before every round, as a camera is set up
with the new 機器認証キー that 機器設定 shows.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 640, 360
JAPAN = ZoneInfo("Asia/Tokyo")


def draw_image(moment: dt.datetime, label: str, *, quality: int = 70) -> bytes:
    """Return a JPEG picture of *moment*: sky by the hour, a marker by the second."""
    hour = moment.hour + moment.minute / 60
    daylight = max(0.0, math.sin((hour - 6) / 12 * math.pi))
    sky = (int(30 + 110 * daylight), int(45 + 140 * daylight), int(80 + 160 * daylight))
    image = Image.new("RGB", (WIDTH, HEIGHT), sky)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, HEIGHT * 2 // 3, WIDTH, HEIGHT), fill=(70, 90, 60))
    draw.rectangle((80, 150, 260, HEIGHT * 2 // 3), fill=(150, 140, 130))
    draw.polygon([(70, 150), (170, 90), (270, 150)], fill=(120, 60, 50))
    x = int((moment.second + moment.microsecond / 1e6) / 60 * (WIDTH - 40)) + 20
    draw.ellipse((x - 14, HEIGHT - 70, x + 14, HEIGHT - 42), fill=(230, 200, 40))
    font = ImageFont.load_default(size=22)
    # Cameras of a Japanese service keep Japan time on their pictures, as the portal shows.
    stamp = moment.astimezone(JAPAN).strftime("%Y/%m/%d %H:%M:%S")
    draw.rectangle((0, 0, WIDTH, 36), fill=(0, 0, 0))
    draw.text((10, 6), f"{label}  {stamp}", fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


@dataclass
class FakeCamera:
    """One device talking to the portal at *base_url* with its id and secret."""

    base_url: str
    device_id: int
    secret: str
    label: str = ""
    timeout: float = 10.0
    # Where the camera is given a new secret (read before every round), if anywhere.
    secret_file: Path | None = None
    sent: dict[str, int] = field(default_factory=lambda: {"heartbeats": 0, "uploads": 0})
    # When the portal says the secret in use stops working (it has been replaced).
    secret_expires_at: str | None = None

    def _url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/api/v1/devices/{self.device_id}{path}"

    def _send(
        self, path: str, *, body: bytes | None, headers: dict[str, str], method: str = "POST"
    ) -> Any:
        request = urllib.request.Request(
            self._url(path),
            data=body,
            method=method,
            headers={"Authorization": f"Bearer {self.secret}", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            try:
                detail = json.loads(error.read() or b"null")
            except ValueError:
                detail = None
            raise ApiError(error.code, detail) from error

    def describe(self) -> Any:
        return self._send("", body=None, headers={}, method="GET")

    def heartbeat(self, recording: str = "continuous") -> Any:
        body = json.dumps({"recording": recording}).encode()
        answer = self._send("/heartbeat", body=body, headers={"Content-Type": "application/json"})
        self.sent["heartbeats"] += 1
        if isinstance(answer, dict):
            self.secret_expires_at = answer.get("api_secret_expires_at")
        return answer

    def set_up(self, secret: str) -> None:
        """Take a new secret, as a camera does when it is set up with a new 機器認証キー."""
        self.secret = secret
        self.secret_expires_at = None

    def read_secret_file(self) -> bool:
        """Take the secret of the secret file if it is a new one; return whether it was."""
        if self.secret_file is None:
            return False
        try:
            secret = self.secret_file.read_text(encoding="utf-8").strip()
        except OSError:
            return False
        if not secret or secret == self.secret:
            return False
        self.set_up(secret)
        return True

    def upload(self, moment: dt.datetime | None = None, *, key: str | None = None) -> Any:
        moment = moment or dt.datetime.now(dt.UTC)
        image = draw_image(moment, self.label or f"CAM {self.device_id}")
        answer = self._send(
            "/recordings",
            body=image,
            headers={
                "Content-Type": "image/jpeg",
                "Idempotency-Key": key or uuid.uuid4().hex,
                "X-Captured-At": moment.isoformat(),
            },
        )
        self.sent["uploads"] += 1
        return answer

    def run(
        self,
        *,
        interval: float,
        count: int | None = None,
        log: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Send a heartbeat and an image every *interval* seconds (*count* times, or forever).

        An unreachable portal is retried at the next interval, as a camera would; a refused
        secret (401/403/404) stops the camera, since retrying cannot help, unless it has a
        secret file, where it waits for a new secret.
        """
        done = 0
        pending: tuple[dt.datetime, str] | None = None
        warned: str | None = None
        while count is None or done < count:
            if self.read_secret_file():
                log(f"camera {self.device_id}: set up with a new secret")
            try:
                self.heartbeat()
                if self.secret_expires_at and self.secret_expires_at != warned:
                    warned = self.secret_expires_at
                    log(
                        f"camera {self.device_id}: its secret has been replaced and works "
                        f"until {warned}; set the camera up with the new one"
                    )
                if pending is not None:
                    # The last upload may have arrived before the connection broke: the
                    # same key again stores it at most once.
                    self.upload(pending[0], key=pending[1])
                pending = (dt.datetime.now(dt.UTC), uuid.uuid4().hex)
                self.upload(pending[0], key=pending[1])
                pending = None
            except ApiError as error:
                if error.status in {401, 403, 404} and self.secret_file is None:
                    raise
                log(f"camera {self.device_id}: {error}")
            except (urllib.error.URLError, OSError) as error:
                log(f"camera {self.device_id}: portal unreachable ({error})")
            done += 1
            if count is None or done < count:
                sleep(interval)
