"""The life of a device: registration, edits, setup, exchange and deletion (解約)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from flask import current_app
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

from .. import clock, storage
from ..audit import EventTarget, record_event, record_events
from ..crypto import digest
from ..database import lock_for_update, unit_of_work
from ..enums import (
    CommStatus,
    DeviceKind,
    LicenceState,
    RecordingStatus,
    ServiceStatus,
)
from ..extensions import db
from ..i18n import lazy as _l
from ..mail import Delivery, send_after_commit
from ..models import (
    Contract,
    Device,
    DeviceExchange,
    Licence,
    NotificationSetting,
    Recording,
    format_mac,
    mask_key,
    utcnow,
)
from .contracts import contractor_of
from .device_reports import issue_api_secret, rotate_api_secret
from .licences import KEY_IN_USE, usable_licence
from .refusals import AlreadyDone, ContractGone, DeviceGone, LicenceLapsed, Refused
from .retention import in_history


class Registration(NamedTuple):
    device: Device
    api_secret: str  # shown once, never stored


MAC_TAKEN = _l("このMACアドレスの機器は既に登録されています。")
DOMAIN_TAKEN = _l("このドメイン名は既に使われています。別の名前を入力してください。")


def mac_in_use(mac: str, *, except_device: int | None = None) -> bool:
    query = select(Device.id).where(Device.mac == mac)
    if except_device is not None:
        query = query.where(Device.id != except_device)
    return db.session.scalar(select(exists(query))) or False


def domain_in_use(domain: str, *, except_device: int | None = None) -> bool:
    query = select(Device.id).where(Device.domain == domain)
    if except_device is not None:
        query = query.where(Device.id != except_device)
    return db.session.scalar(select(exists(query))) or False


def new_domain() -> str:
    """Assign a domain name that no device has (ten random base32 characters)."""
    suffix = current_app.config["DEVICE_DOMAIN_SUFFIX"]
    while True:
        label = "".join(secrets.choice("abcdefghjkmnpqrstvwxyz0123456789") for _ in range(10))
        domain = f"{label}.{suffix}"
        if not domain_in_use(domain):
            return domain


def already_registered(contract_id: int, key: str | None, mac: str | None) -> int | None:
    """Return the id of this contract's device registered with exactly this key and MAC.

    A registration submitted twice finds its own result here instead of an error.
    """
    if not key or not mac:
        return None
    return db.session.scalar(
        select(Device.id)
        .join(Licence, Device.licence_id == Licence.id)
        .where(
            Licence.key_digest == digest(key),
            Device.contract_id == contract_id,
            Device.mac == mac,
        )
    )


def register_device(
    contract_id: int,
    *,
    key: str,
    name: str,
    model: str,
    mac: str,
    kind: DeviceKind,
    today: dt.date | None = None,
) -> Registration:
    """Register a device with an unused licence key (機器登録), in one transaction.

    *key* and *mac* are already normalised. Raises Refused with the field at fault, or
    AlreadyDone when this very device was just registered with this key (a double submit).
    The device's API secret is issued with it: returned here, and never readable again.
    """
    today = today or clock.today()
    same = already_registered(contract_id, key, mac)
    if same is not None:
        raise AlreadyDone(same)
    licence = usable_licence(key, contract_id, today)
    if mac_in_use(mac):
        raise Refused(MAC_TAKEN, field="mac")
    try:
        with unit_of_work():
            # The contract is locked first: a withdrawal at the same moment either sees this
            # device (and refuses) or has already removed the contract (and this refuses).
            if not lock_for_update(db.session, Contract, contract_id):
                raise ContractGone()
            # Claim the key: of two registrations racing for it, only one updates the row.
            claimed = db.session.execute(
                update(Licence)
                .where(Licence.id == licence.id, Licence.state == LicenceState.UNUSED)
                .values(state=LicenceState.IN_USE, contract_id=contract_id)
                .returning(Licence.id),
                execution_options={"synchronize_session": False},
            ).first()
            if claimed is None:
                raise Refused(KEY_IN_USE, field="licence_key")
            device = Device(
                contract_id=contract_id,
                licence_id=licence.id,
                kind=kind,
                name=name,
                model=model,
                mac=mac,
                domain=new_domain(),
                comm_status=CommStatus.NEVER_CONNECTED,
                recording_status=RecordingStatus.STOPPED,
                service_status=ServiceStatus.AWAITING_SETUP,
                service_started_on=today,
            )
            api_secret = issue_api_secret(device)
            db.session.add(device)
            db.session.flush()
            db.session.add(NotificationSetting(device_id=device.id))
            record_event(
                "device.register",
                contract_id=contract_id,
                target_type="device",
                target_id=device.id,
                summary=name,
                detail={"model": model, "mac": mac, "licence": licence.masked_key},
            )
    except IntegrityError as exc:
        # A unique MAC or domain taken at the same moment by another registration.
        raise Refused(MAC_TAKEN, field="mac") from exc
    return Registration(device, api_secret)


def update_device(
    device: Device,
    *,
    name: str,
    domain: str,
    camera_admin_user: str | None = None,
    camera_admin_password: str | None = None,
    camera_list_user: str | None = None,
    camera_list_password: str | None = None,
) -> list[str]:
    """Change a device's name, domain and camera credentials (変更画面); return what changed.

    An empty password keeps the stored one; an empty user ID clears its pair (without a
    viewing pair, the management pair is used for viewing). Recorders have no camera
    credentials.
    """
    if domain_in_use(domain, except_device=device.id):
        raise Refused(DOMAIN_TAKEN, field="domain")
    changes: dict[str, object] = {"name": name, "domain": domain}
    if device.kind is DeviceKind.CAMERA:
        pairs = (
            ("camera_admin", camera_admin_user, camera_admin_password),
            ("camera_list", camera_list_user, camera_list_password),
        )
        for prefix, user, password in pairs:
            changes[f"{prefix}_user"] = user or None
            if not user:
                changes[f"{prefix}_password"] = None
            elif password:
                changes[f"{prefix}_password"] = password
    changed = [field for field, value in changes.items() if getattr(device, field) != value]
    if not changed:
        return []
    try:
        with unit_of_work():
            for field in changed:
                setattr(device, field, changes[field])
            record_event(
                "device.update",
                contract_id=device.contract_id,
                target_type="device",
                target_id=device.id,
                summary=name,
                # Which fields changed, never the secrets themselves.
                detail={"fields": changed},
            )
    except IntegrityError as exc:
        raise Refused(DOMAIN_TAKEN, field="domain") from exc
    return changed


def start_setup(device: Device, *, replacing: str, today: dt.date | None = None) -> str:
    """Run 機器設定: issue the device a new API secret, to be set up on the device.

    Nothing is cut off: the secret the device speaks with keeps working until the device
    first uses the new one, or for 24 hours (device_reports.rotate_api_secret), so a
    機器設定 of the wrong device costs nothing. 機器設定 is 未完了 and サービス稼働状態
    設定待ち until the device's first heartbeat with the new secret, which completes it at
    that heartbeat's time (device_reports.report_status). The new secret is returned, to be
    shown once. *replacing* is the Device.secret_mark that the confirmation was shown
    with: if another secret has been issued since (the confirmation submitted twice, or
    in two tabs), nothing is issued and AlreadyDone says so.
    """
    if device.licence.effective_state(today) is not LicenceState.IN_USE:
        raise LicenceLapsed()
    with unit_of_work():
        # Of two 機器設定 at once (a double click), the second waits here and then finds
        # the secret replaced.
        if not lock_for_update(db.session, Device, device.id):
            raise DeviceGone(device.name)
        db.session.refresh(device)
        if device.secret_mark != replacing:
            raise AlreadyDone(device.id)
        device.setup_completed_at = None
        device.service_status = ServiceStatus.AWAITING_SETUP
        api_secret = rotate_api_secret(device)
        record_event(
            "device.setup",
            contract_id=device.contract_id,
            target_type="device",
            target_id=device.id,
            summary=device.name,
        )
    return api_secret


def exchange_device(
    device: Device, *, new_model: str, new_mac: str, today: dt.date | None = None
) -> DeviceExchange:
    """Move a device's licence and everything attached to it to new hardware (機器の交換).

    The licence and its term, the name, domain, settings, notification settings and
    recordings all stay with the device record; only the hardware (品番, MAC) changes,
    so the key stays 使用中 and the old MAC is free again. The new hardware needs
    機器設定. The old hardware is gone: its secret, and any older one still kept by a
    機器設定, stop working at once. Raises AlreadyDone when the device already has this MAC
    (a double submit).
    """
    if new_mac == device.mac:
        raise AlreadyDone(device.id)
    if device.licence.effective_state(today) is not LicenceState.IN_USE:
        raise LicenceLapsed()
    if mac_in_use(new_mac):
        raise Refused(MAC_TAKEN, field="mac")
    old_model, old_mac = device.model, device.mac
    try:
        with unit_of_work():
            moved = db.session.execute(
                update(Device)
                .where(Device.id == device.id, Device.mac == old_mac)
                .values(
                    model=new_model,
                    mac=new_mac,
                    setup_completed_at=None,
                    service_status=ServiceStatus.AWAITING_SETUP,
                    comm_status=CommStatus.NEVER_CONNECTED,
                    recording_status=RecordingStatus.STOPPED,
                    global_ip=None,
                    # The old hardware stops speaking for this device at once (no grace:
                    # it is no longer there to be set up); 機器設定 issues the new one's.
                    api_secret_digest=None,
                    api_secret_issued_at=None,
                    old_api_secret_digest=None,
                    old_api_secret_expires_at=None,
                    last_heartbeat_at=None,
                )
                .returning(Device.id),
                execution_options={"synchronize_session": False},
            ).first()
            if moved is None:
                # Another exchange of this device won the race.
                raise AlreadyDone(device.id)
            exchange = DeviceExchange(
                device_id=device.id,
                old_model=old_model,
                old_mac=old_mac,
                new_model=new_model,
                new_mac=new_mac,
            )
            db.session.add(exchange)
            record_event(
                "device.exchange",
                contract_id=device.contract_id,
                target_type="device",
                target_id=device.id,
                summary=device.name,
                detail={"from": [old_model, old_mac], "to": [new_model, new_mac]},
            )
    except IntegrityError as exc:
        raise Refused(MAC_TAKEN, field="mac") from exc
    db.session.refresh(device)
    return exchange


class DeletedDevice(NamedTuple):
    """What the mail after a deletion names: the device as it was, and its recordings."""

    name: str
    domain: str
    model: str
    mac: str  # as shown: 00:80:45:AB:CD:EF
    licence: str  # the key, masked
    recordings: int


def delete_device(device: Device, *, reason: str = "") -> Delivery | None:
    """Delete a device for good (機器の削除／解約) and revoke its licence.

    One transaction removes the device, its notification setting and its recording
    rows, and revokes the licence (失効: never usable again); the recording files
    are removed once it has committed, and a mail tells the contractor what was
    deleted and when (returned; None for a contract without a contractor). A mail
    server that fails never undoes the deletion. Raises DeviceGone, changing nothing,
    when a concurrent request got there first.
    """
    device_id, contract_id, licence_id = device.id, device.contract_id, device.licence_id
    name, domain = device.name, device.domain
    what = DeletedDevice(
        name=name,
        domain=domain,
        model=device.model,
        mac=device.mac_display,
        licence=device.licence.masked_key,
        recordings=0,
    )
    contractor = contractor_of(contract_id)
    now = utcnow()
    mail = None
    with unit_of_work():
        # Locked first: an upload arriving now either commits its recording before this
        # reads them (and it is deleted with them) or finds the device gone.
        if not lock_for_update(db.session, Device, device_id):
            raise DeviceGone(name)
        # The mail counts what the confirmation offered to save: the plan's history.
        recordings = (
            db.session.scalar(
                select(func.count())
                .select_from(Recording)
                .where(Recording.device_id == device_id, in_history(device.licence.plan))
            )
            or 0
        )
        removed = cast(
            "CursorResult[Any]",
            db.session.execute(delete(Recording).where(Recording.device_id == device_id)),
        ).rowcount
        db.session.execute(
            delete(NotificationSetting).where(NotificationSetting.device_id == device_id)
        )
        deleted = db.session.execute(
            delete(Device)
            .where(Device.id == device_id, Device.contract_id == contract_id)
            .returning(Device.id)
        ).first()
        if deleted is None:
            raise DeviceGone(name)
        db.session.execute(
            update(Licence)
            .where(Licence.id == licence_id)
            .values(state=LicenceState.REVOKED, revoked_at=now)
        )
        record_event(
            "device.delete",
            contract_id=contract_id,
            target_type="device",
            target_id=device_id,
            summary=name,
            detail={"domain": domain, "recordings": removed, "reason": reason[:1000]},
        )
        if contractor is not None:
            mail = send_after_commit(
                contractor.email,
                "device_deleted",
                locale=contractor.locale,
                device=what._replace(recordings=recordings),
                deleted_at=now,
                zone=clock.service_zone().key,
            )
    # Every recording of the device lives under its folder, with any object no row named
    # yet (an upload cut off mid-way): removing the folder removes them all.
    storage.remove_tree(storage.device_prefix(contract_id, device_id))
    return mail


# Devices deleted by one statement at a time: well under every database's limit of
# parameters, and few enough round trips that thousands of devices take seconds.
BULK_CHUNK = 500
# How many devices the mail after a bulk deletion names; the rest are counted.
MAIL_LISTS = 50


class BulkDeletion(NamedTuple):
    """What a bulk deletion removed (by name), and the mail that says so."""

    deleted: list[DeletedDevice]
    mail: Delivery | None


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + BULK_CHUNK] for start in range(0, len(ids), BULK_CHUNK)]


def delete_devices(contract_id: int, device_ids: list[int], *, reason: str = "") -> BulkDeletion:
    """Delete many of the contract's devices for good (一括削除), all or nothing.

    The rules of delete_device() for each device, in one transaction and in set-based
    statements (a chunk of devices at a time, never a device at a time): the devices,
    their notification settings and recording rows go, every licence is revoked (失効),
    each device gets its own ``device.delete`` audit event (so a stale page of any of
    them answers "already deleted"), and one mail names them all. The devices' folders
    are removed after the commit. Ids of devices no longer there (deleted meanwhile) are
    skipped: the caller has already refused another contract's ids (404).
    """
    contractor = contractor_of(contract_id)
    now = utcnow()
    deleted: list[DeletedDevice] = []
    targets: list[EventTarget] = []
    mail = None
    with unit_of_work() as work:
        # The contract is locked first, as a registration does: a withdrawal or a
        # registration at the same moment waits for this one (SQLite: every writer does).
        if not lock_for_update(db.session, Contract, contract_id):
            raise ContractGone()
        postgres = db.session.get_bind().dialect.name == "postgresql"
        gone_ids: list[int] = []
        for chunk in _chunks(sorted(set(device_ids))):
            query = (
                select(
                    Device.id,
                    Device.name,
                    Device.domain,
                    Device.model,
                    Device.mac,
                    Device.licence_id,
                    Licence.key,
                    Licence.plan,
                )
                .join(Licence, Device.licence_id == Licence.id)
                .where(Device.id.in_(chunk), Device.contract_id == contract_id)
                .order_by(Device.name, Device.id)
            )
            if postgres:
                # An upload or a single deletion of one of them holds its row: wait for it.
                query = query.with_for_update(of=Device)
            rows = db.session.execute(query).all()
            if not rows:
                continue
            ids = [row.id for row in rows]
            # Every recording row goes; the mail counts what a confirmation offered to
            # save (each device's plan's history), as the single deletion's does.
            counted = db.session.execute(
                select(
                    Recording.device_id,
                    func.count(),
                    func.count().filter(in_history(Licence.plan)),
                )
                .join(Device, Device.id == Recording.device_id)
                .join(Licence, Device.licence_id == Licence.id)
                .where(Recording.device_id.in_(ids))
                .group_by(Recording.device_id)
            ).all()
            removed = {device_id: total for device_id, total, _ in counted}
            kept = {device_id: history for device_id, _, history in counted}
            db.session.execute(delete(Recording).where(Recording.device_id.in_(ids)))
            db.session.execute(
                delete(NotificationSetting).where(NotificationSetting.device_id.in_(ids))
            )
            db.session.execute(
                delete(Device).where(Device.id.in_(ids), Device.contract_id == contract_id),
                execution_options={"synchronize_session": False},
            )
            db.session.execute(
                update(Licence)
                .where(Licence.id.in_([row.licence_id for row in rows]))
                .values(state=LicenceState.REVOKED, revoked_at=now),
                execution_options={"synchronize_session": False},
            )
            for row in rows:
                deleted.append(
                    DeletedDevice(
                        name=row.name,
                        domain=row.domain,
                        model=row.model,
                        mac=format_mac(row.mac),
                        licence=mask_key(row.key),
                        recordings=kept.get(row.id, 0),
                    )
                )
                detail = {
                    "domain": row.domain,
                    "recordings": removed.get(row.id, 0),
                    "reason": reason[:1000],
                    "bulk": True,
                }
                targets.append((row.id, row.name, detail))
            gone_ids += ids
        record_events(
            "device.delete", contract_id=contract_id, target_type="device", targets=targets
        )
        if contractor is not None and deleted:
            deleted.sort(key=lambda device: device.name)
            mail = send_after_commit(
                contractor.email,
                "devices_deleted",
                locale=contractor.locale,
                devices=deleted[:MAIL_LISTS],
                count=len(deleted),
                recordings=sum(device.recordings for device in deleted),
                deleted_at=now,
                zone=clock.service_zone().key,
            )
        # Each device's recordings, with any object no row named yet (an upload cut off
        # mid-way), live under its folder: one removal per device, never one per file.
        work.after_commit(lambda: remove_device_folders(contract_id, gone_ids))
    return BulkDeletion(deleted, mail)


def remove_device_folders(contract_id: int, device_ids: list[int]) -> None:
    """Remove the storage folders of deleted devices (after the commit; never raises)."""
    storage.remove_trees([storage.device_prefix(contract_id, each) for each in device_ids])
