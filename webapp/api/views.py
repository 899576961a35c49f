"""Device API endpoints: who the device is, heartbeats, and recording uploads.

Every answer is JSON, errors included ({"error": code, "message": text}: refusals here,
every other error through errors.render_error, as for any API path); no cookie,
session or CSRF token is involved: each request carries the device's own secret.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import current_app, jsonify, request
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from ..crypto import digest
from ..database import fresh_snapshot
from ..enums import RecordingStatus
from ..errors import json_error
from ..extensions import csrf, limiter
from ..models import Device, Recording
from ..services.device_reports import (
    authenticate,
    heartbeat,
    heartbeat_interval,
    kept_after_commit,
    presented_secret,
)
from ..services.recordings import parse_captured_at, store_upload
from ..services.refusals import ApiRefused
from . import bp

# A heartbeat is a few dozen bytes; anything much larger is not one.
MAX_JSON_BYTES = 16 * 1024

csrf.exempt(bp)


@bp.errorhandler(ApiRefused)
def refused(error: ApiRefused) -> Response:
    response = json_error(error.status, error.code, error.message)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="device"'
    return response


def _credential_key() -> str:
    """Rate limits count per device: per secret presented, read as authentication reads it."""
    return "device-api:" + digest(presented_secret(request.headers.get("Authorization")))


def _refused_credentials(response: Response) -> bool:
    return response.status_code == 401


per_device = limiter.limit(
    lambda: current_app.config["DEVICE_API_RATE_LIMIT"], key_func=_credential_key
)
# Guessing secrets from one address: only refused ones count.
per_client = limiter.limit(
    "60 per minute", key_func=get_remote_address, deduct_when=_refused_credentials
)


def _device(device_id: int) -> Any:
    return authenticate(device_id, request.headers.get("Authorization"))


def _json_object() -> dict[str, Any]:
    """The request body as a JSON object ({} when empty), or a 400/413/415 JSON error."""
    request.max_content_length = MAX_JSON_BYTES
    body = request.get_data(cache=True)
    if not body.strip():
        return {}
    if request.mimetype != "application/json":
        raise ApiRefused(415, "unsupported_media_type", "Send JSON (application/json).")
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:  # [[[[… nested past the parser's depth
        raise ApiRefused(400, "invalid_json", "The body is not valid JSON.") from exc
    if not isinstance(value, dict):
        raise ApiRefused(400, "invalid_json", "The body must be a JSON object.")
    return value


def device_summary(device: Device) -> dict[str, object]:
    """What the API tells a device about itself."""
    licence = device.licence
    return {
        "id": device.id,
        "name": device.name,
        "domain": device.domain,
        "comm_status": device.comm_status.value,
        "recording_status": device.effective_recording_status().value,
        "service_status": device.effective_service_status().value,
        "last_heartbeat_at": _iso(device.last_heartbeat_at),
        "licence": {
            "state": licence.effective_state().value,
            "plan": licence.plan.value,
            "ends_on": licence.ends_on.isoformat(),
            # What the plan keeps: ライブ映像 records nothing (only the newest still image).
            "records": licence.plan.keeps_recordings,
            "retention_days": licence.plan.retention_days,
        },
        "heartbeat_interval_seconds": heartbeat_interval(),
        # Set while the device still speaks with the secret it had before 機器設定.
        "api_secret_expires_at": _iso(device.old_secret_valid_until),
    }


def recording_summary(recording: Recording) -> dict[str, object]:
    """What the API tells a device about a recording it uploaded."""
    return {
        "id": recording.id,
        "kind": recording.kind.value,
        "content_type": recording.content_type,
        "size_bytes": recording.size_bytes,
        "captured_at": _iso(recording.captured_at),
        "idempotency_key": recording.idempotency_key,
    }


def _iso(moment: dt.datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with its zone."""
    return None if moment is None else moment.replace(tzinfo=dt.UTC).isoformat()


@bp.get("/openapi.json")
def openapi() -> Response:
    """The API described as an OpenAPI 3.1 document."""
    return jsonify(_openapi_document())


@cache
def _openapi_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (Path(__file__).parent / "openapi.json").read_text(encoding="utf-8")
    )
    return document


@bp.get("/devices/<id:device_id>")
@per_client
@per_device
def device(device_id: int) -> Response:
    """What the portal knows about the calling device."""
    return jsonify(device_summary(_device(device_id)))


@bp.post("/devices/<id:device_id>/heartbeat")
@per_client
@per_device
def device_heartbeat(device_id: int) -> Response:
    """The device is alive; it may also say its 録画状態."""
    device = _device(device_id)
    body = _json_object()
    recording = body.get("recording")
    if recording is not None:
        reported = RecordingStatus.reported()
        if not isinstance(recording, str) or recording not in {s.value for s in reported}:
            allowed = ", ".join(s.value for s in reported)
            raise ApiRefused(422, "invalid_recording", f"'recording' must be one of: {allowed}.")
        recording = RecordingStatus.of(recording)
    heartbeat(device, recording, request.remote_addr)
    return jsonify(device_summary(device))


@bp.post("/devices/<id:device_id>/recordings")
@per_client
@per_device
def upload_recording(device_id: int) -> Response:
    """Store a still image or a clip: the body is the file, its type in Content-Type."""
    device = _device(device_id)
    contract_id, plan = device.contract_id, device.licence.plan
    # No transaction stays open while a camera's uplink sends up to RECORDING_MAX_BYTES.
    fresh_snapshot()
    request.max_content_length = current_app.config["RECORDING_MAX_BYTES"]
    idempotency_key = request.headers.get("Idempotency-Key", "").strip()
    if not idempotency_key:
        raise ApiRefused(422, "invalid_idempotency_key", "Idempotency-Key is required.")
    captured_at = parse_captured_at(request.headers.get("X-Captured-At"))
    data = request.get_data(cache=False)
    if not data:
        raise ApiRefused(400, "empty_body", "The body must be the image or clip.")
    # The answer describes the recording as just written: not read back after the commit.
    with kept_after_commit():
        upload = store_upload(
            device_id,
            contract_id,
            data=data,
            content_type=request.mimetype,
            captured_at=captured_at,
            idempotency_key=idempotency_key,
            plan=plan,
        )
    response = jsonify(recording_summary(upload.recording))
    response.status_code = 201 if upload.created else 200
    if not upload.created:
        response.headers["Idempotent-Replayed"] = "true"
    return response
