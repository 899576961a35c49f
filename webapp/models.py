"""The portal's data: contracts, their people, devices, licences, recordings and history."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from . import clock
from .clock import utcnow
from .crypto import digest
from .enums import (
    CommStatus,
    DeviceKind,
    LabelledEnum,
    LicenceState,
    Plan,
    RecordingKind,
    RecordingStatus,
    Role,
    ServiceStatus,
    TokenPurpose,
    Trouble,
)
from .extensions import db

if TYPE_CHECKING:  # db.Model is built at run time; to the type checker it is the Base
    from .extensions import Base as Model
else:
    Model = db.Model


# SQLite would otherwise hand a deleted row's id to the next insert: a stale tab could
# then act on a new device, and a new device could inherit an old one's files.
NEVER_REUSE_IDS: dict[str, Any] = {"sqlite_autoincrement": True}


def enum_column(enum_cls: type[LabelledEnum]) -> SAEnum:
    """Store an enum as its short value in a VARCHAR, portable across databases."""
    return SAEnum(
        enum_cls,
        native_enum=False,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class EncryptedString(TypeDecorator[str]):
    """A string encrypted at rest with the application's field cipher (Fernet)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return current_app.extensions["field_cipher"].encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return current_app.extensions["field_cipher"].decrypt(value)


class Contract(Model):
    """One annual-pack contract and the contractor's details (契約者情報)."""

    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    company_name: Mapped[str] = mapped_column(String(100), default="")
    name: Mapped[str] = mapped_column(String(100))
    furigana: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(7), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    phone_work: Mapped[str] = mapped_column(String(20), default="")
    phone_mobile: Mapped[str] = mapped_column(String(20), default="")
    phone_home: Mapped[str] = mapped_column(String(20), default="")
    wants_news: Mapped[bool] = mapped_column(Boolean, default=False)
    seat_limit: Mapped[int] = mapped_column(Integer, default=5)
    # Set by the contractor: every user of the contract logs in with a second factor.
    requires_two_factor: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="contract", passive_deletes=True)

    @property
    def contractor(self) -> User | None:
        return next((u for u in self.users if u.role is Role.CONTRACTOR), None)


class User(UserMixin, Model):
    """A person who logs in: the contractor, or a general user they added."""

    __tablename__ = "portal_user"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contract.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # None until an invited user has chosen a password: such an account cannot log in.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # A general user sees every device of the contract, or only those in user_device.
    all_devices: Mapped[bool] = mapped_column(Boolean, default=True)
    # "ja" or "en"; None follows the browser's language.
    locale: Mapped[str | None] = mapped_column(String(5))
    terms_version: Mapped[str | None] = mapped_column(String(20))

    contract: Mapped[Contract] = relationship(back_populates="users")

    # The raw token and the id of the login session this object was loaded for (not columns).
    session_token = None  # type: str | None
    login_session_id = None  # type: int | None

    def get_id(self) -> str:
        # Flask-Login keeps this in the cookie session; it names the login session,
        # not the user, so that ending that session server-side ends the login.
        if not self.session_token:
            raise RuntimeError("a user is logged in through a login session")
        return self.session_token

    @property
    def is_contractor(self) -> bool:
        return self.role is Role.CONTRACTOR

    @property
    def invitation_pending(self) -> bool:
        """Whether an invited user has yet to choose a password (招待中) and so cannot log in."""
        return self.password_hash is None


class TotpCredential(Model):
    """A user's authenticator app (TOTP): its secret, encrypted, and the last step it spoke.

    The row exists from the start of enrolment; it counts only once a code has confirmed
    it (enabled_at). A code whose time step is not after last_step is refused: each code
    logs in once.
    """

    __tablename__ = "totp_credential"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("portal_user.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(EncryptedString)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    enabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_step: Mapped[int | None] = mapped_column(Integer)


class RecoveryCode(Model):
    """One single-use recovery code of a user (リカバリーコード); only its digest is kept."""

    __tablename__ = "recovery_code"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("portal_user.id", ondelete="CASCADE"), index=True
    )
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class UserToken(Model):
    """A single-use, time-limited link sent by mail: password reset, invitation, new e-mail.

    Only the SHA-256 of the token is stored; the token itself exists only in the mail.
    """

    __tablename__ = "user_token"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("portal_user.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[TokenPurpose] = mapped_column(enum_column(TokenPurpose))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # For an e-mail change: the address that takes effect when the link is followed.
    new_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class UserDevice(Model):
    """A device a general user may view, when they do not see all of them."""

    __tablename__ = "user_device"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("portal_user.id", ondelete="CASCADE"), primary_key=True
    )
    device_id: Mapped[int] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TermsVersion(Model):
    """A published version of the terms (規約); the newest one must be accepted."""

    __tablename__ = "terms_version"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(20), unique=True)
    published_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    body: Mapped[str] = mapped_column(Text)


class TermsAcceptance(Model):
    """Who accepted which version of the terms, and when."""

    __tablename__ = "terms_acceptance"
    __table_args__ = (UniqueConstraint("user_id", "version"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(20))
    accepted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class LoginSession(Model):
    """A server-side record of one login; deleting it logs that browser out."""

    __tablename__ = "login_session"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("portal_user.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # When the password (or, later, a second factor) was last given in this login: the
    # login itself, then each re-authentication before a sensitive step (auth/reauth.py).
    # Null on a row older than the column: its created_at stands for it.
    authenticated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=utcnow)
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User] = relationship()


class Licence(Model):
    """A licence key of the annual pack and its term."""

    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    # Keys are looked up by their SHA-256 digest: comparing a guess against stored keys
    # inside an index would otherwise leak, through timing, how close the guess came.
    key_digest: Mapped[str] = mapped_column(
        String(64),
        unique=True,
        default=lambda context: digest(context.get_current_parameters()["key"]),
    )
    # Kept (detached) after withdrawal so a revoked key stays revoked for good.
    contract_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract.id", ondelete="SET NULL"), index=True
    )
    plan: Mapped[Plan] = mapped_column(enum_column(Plan))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[LicenceState] = mapped_column(
        enum_column(LicenceState), default=LicenceState.UNUSED
    )
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    def effective_state(self, today: dt.date | None = None) -> LicenceState:
        """Return the state a contractor sees: a used or unused key past its term is 期限切れ."""
        return licence_state(self.state, self.ends_on, today)

    def days_left(self, today: dt.date | None = None) -> int:
        """Return the days from *today* to the end of the term (negative once it has passed)."""
        return (self.ends_on - (today or clock.today())).days

    @property
    def masked_key(self) -> str:
        return mask_key(self.key)

    @property
    def is_in_use(self) -> bool:
        """Whether the key serves its device today (使用中): not unused, revoked or expired."""
        return self.effective_state() is LicenceState.IN_USE


class Device(Model):
    """A registered network camera or recorder (機器)."""

    __table_args__ = (
        Index("ix_device_contract_id_name", "contract_id", "name", "id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id"), unique=True)
    kind: Mapped[DeviceKind] = mapped_column(enum_column(DeviceKind))
    name: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(40))
    # Twelve upper-case hex digits, no separators; shown as 00:80:45:AB:CD:EF.
    mac: Mapped[str] = mapped_column(String(12), unique=True)
    domain: Mapped[str] = mapped_column(String(100), unique=True)
    global_ip: Mapped[str | None] = mapped_column(String(45))
    camera_admin_user: Mapped[str | None] = mapped_column(String(64))
    camera_admin_password: Mapped[str | None] = deferred(mapped_column(EncryptedString))
    camera_list_user: Mapped[str | None] = mapped_column(String(64))
    camera_list_password: Mapped[str | None] = deferred(mapped_column(EncryptedString))
    service_started_on: Mapped[dt.date | None] = mapped_column(Date)
    comm_status: Mapped[CommStatus] = mapped_column(
        enum_column(CommStatus), default=CommStatus.NEVER_CONNECTED
    )
    recording_status: Mapped[RecordingStatus] = mapped_column(
        enum_column(RecordingStatus), default=RecordingStatus.STOPPED
    )
    service_status: Mapped[ServiceStatus] = mapped_column(
        enum_column(ServiceStatus), default=ServiceStatus.AWAITING_SETUP
    )
    setup_completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # The device API secret: only its SHA-256 digest is kept; the secret is shown once.
    api_secret_digest: Mapped[str | None] = deferred(mapped_column(String(64), unique=True))
    api_secret_issued_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # After 機器設定, the secret the device spoke with until then, and until when it still
    # works: the device keeps working until it first uses its new secret (which ends this
    # one at once) or until the time is up. Looked up by its digest like the current one.
    old_api_secret_digest: Mapped[str | None] = deferred(mapped_column(String(64), unique=True))
    old_api_secret_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # When the device last reported itself alive (heartbeat); None before its first one.
    last_heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    licence: Mapped[Licence] = relationship(lazy="joined", innerjoin=True)
    notification_setting: Mapped[NotificationSetting | None] = relationship(
        back_populates="device", passive_deletes=True
    )

    def effective_service_status(self, today: dt.date | None = None) -> ServiceStatus:
        """Return サービス稼働状態 as the contractor sees it: a lapsed licence stops the service."""
        return service_status(self.service_status, self.licence.effective_state(today))

    def effective_recording_status(self) -> RecordingStatus:
        """Return 録画状態 as the contractor sees it: a plan without recordings reads 録画なし."""
        return recording_status(self.recording_status, self.licence.plan)

    @property
    def keeps_recordings(self) -> bool:
        """Whether the device's plan keeps a recording history (録画一覧); ライブ映像 does not."""
        return self.licence.plan.keeps_recordings

    def troubles(self, today: dt.date | None = None) -> frozenset[Trouble]:
        """Return what puts the device among those the portal shows first (see device_troubles)."""
        today = today or clock.today()
        return device_troubles(
            self.comm_status,
            self.effective_recording_status(),
            self.effective_service_status(today),
            self.licence.effective_state(today),
            self.licence.days_left(today),
        )

    def notifies(self, event: str) -> bool:
        """Whether the notification setting for *event* ("on_comm_change", ...) is on.

        Every event is on until the contractor turns it off: a device without a setting row
        has them all on, as the status mails read it.
        """
        setting = self.notification_setting
        return setting is None or bool(getattr(setting, event))

    @property
    def has_api_secret(self) -> bool:
        """Whether the device has a secret to speak with (none after 機器の交換 until 機器設定)."""
        return self.api_secret_issued_at is not None

    @property
    def old_secret_valid_until(self) -> dt.datetime | None:
        """Until when the secret the device spoke with before 機器設定 still works, if it does.

        None once the device has used its new secret, or when there is no such secret.
        """
        until = self.old_api_secret_expires_at
        return until if until is not None and until > utcnow() else None

    @property
    def secret_mark(self) -> str:
        """Names the device's current secret without revealing it: when it was issued.

        A confirmation of 機器設定 carries it, so that a second submit of the same
        confirmation finds the secret already replaced and issues no other.
        """
        issued = self.api_secret_issued_at
        return issued.isoformat() if issued is not None else "none"

    @property
    def mac_display(self) -> str:
        return format_mac(self.mac)

    @property
    def is_camera(self) -> bool:
        return self.kind is DeviceKind.CAMERA


def licence_state(
    stored: LicenceState, ends_on: dt.date, today: dt.date | None = None
) -> LicenceState:
    """The rule for a licence's state: a used or unused key past its last day is 期限切れ."""
    if stored is not LicenceState.REVOKED and (today or clock.today()) > ends_on:
        return LicenceState.EXPIRED
    return stored


def service_status(stored: ServiceStatus, licence: LicenceState) -> ServiceStatus:
    """The rule for サービス稼働状態: a lapsed (expired or revoked) licence stops the service."""
    if licence in {LicenceState.EXPIRED, LicenceState.REVOKED}:
        return ServiceStatus.SUSPENDED
    return stored


def recording_status(stored: RecordingStatus, plan: Plan) -> RecordingStatus:
    """The rule for 録画状態: what the device reported, as far as its plan keeps recordings.

    A plan that keeps none (ライブ映像) reads 録画なし whatever the device says; a device
    that last reported under such a plan, and has not reported since, has recorded nothing
    yet under its new one (録画停止中).
    """
    if not plan.keeps_recordings:
        return RecordingStatus.NONE
    if stored is RecordingStatus.NONE:
        return RecordingStatus.STOPPED
    return stored


# A licence in use is ending once this many days or fewer are left of its term.
LICENCE_ENDING_DAYS = 30


def device_troubles(
    comm: CommStatus,
    recording: RecordingStatus,
    service: ServiceStatus,
    licence: LicenceState,
    days_left: int,
) -> frozenset[Trouble]:
    """The rule for a device in trouble, from its statuses as the contractor sees them.

    通信断 is a device that was connected and went silent (未接続 is not yet trouble);
    録画停止中 counts once the device has reported (before, the status is only a default,
    shown muted); サービス停止中 includes a lapsed licence; a licence in use whose term
    ends within LICENCE_ENDING_DAYS of the service's today is ending.
    """
    troubles = set()
    if comm is CommStatus.OFFLINE:
        troubles.add(Trouble.OFFLINE)
    if recording is RecordingStatus.STOPPED and comm is not CommStatus.NEVER_CONNECTED:
        troubles.add(Trouble.RECORDING_STOPPED)
    if service is ServiceStatus.SUSPENDED:
        troubles.add(Trouble.SERVICE_STOPPED)
    if licence is LicenceState.IN_USE and 0 <= days_left <= LICENCE_ENDING_DAYS:
        troubles.add(Trouble.LICENCE_ENDING)
    return frozenset(troubles)


def mask_key(key: str) -> str:
    """A key as printed, all but its last group hidden: ****-****-****-****-9ZJ0."""
    hidden = "*" * (len(key) - 4) + key[-4:]
    return "-".join(hidden[i : i + 4] for i in range(0, len(hidden), 4))


def format_mac(mac: str) -> str:
    """Format twelve hex digits as 00:80:45:AB:CD:EF."""
    if len(mac) == 12:  # every stored MAC; spelt out, as a list of a thousand pays for it
        return f"{mac[0:2]}:{mac[2:4]}:{mac[4:6]}:{mac[6:8]}:{mac[8:10]}:{mac[10:12]}"
    return ":".join(mac[i : i + 2] for i in range(0, len(mac), 2))


class Recording(Model):
    """One stored recording: this row plus an object in the recording storage."""

    __table_args__ = (
        # A retried upload carries the same key: the second finds the first.
        UniqueConstraint("device_id", "idempotency_key"),
        Index("ix_recording_device_id_captured_at", "device_id", "captured_at", "id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    kind: Mapped[RecordingKind] = mapped_column(enum_column(RecordingKind))
    captured_at: Mapped[dt.datetime] = mapped_column(DateTime)
    content_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int] = mapped_column(Integer)
    # Key in the recording storage (a path under RECORDINGS_DIR, or an object key).
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    # Chosen by the device for each upload (None for recordings that did not come by the API),
    # with the SHA-256 of the bytes, so that a retry can be told from a different file.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))

    @property
    def is_image(self) -> bool:
        """Whether this is a still image (静止画), shown as a picture (a clip plays as video)."""
        return self.kind is RecordingKind.IMAGE


class DeviceExchange(Model):
    """One exchange (機器の交換): the hardware a device record moved from and to."""

    __tablename__ = "device_exchange"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    exchanged_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    old_model: Mapped[str] = mapped_column(String(40))
    old_mac: Mapped[str] = mapped_column(String(12))
    new_model: Mapped[str] = mapped_column(String(40))
    new_mac: Mapped[str] = mapped_column(String(12))


class LicenceReminder(Model):
    """A licence-expiry reminder that has been sent (or claimed by a run that is sending it)."""

    __tablename__ = "licence_reminder"
    __table_args__ = (UniqueConstraint("licence_id", "days_before"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id", ondelete="CASCADE"))
    days_before: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class NotificationSetting(Model):
    """Which events of one device mail the contract's notification addresses."""

    __tablename__ = "notification_setting"

    device_id: Mapped[int] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    on_comm_change: Mapped[bool] = mapped_column(Boolean, default=True)
    on_recording_stop: Mapped[bool] = mapped_column(Boolean, default=True)
    on_licence_expiry: Mapped[bool] = mapped_column(Boolean, default=True)

    device: Mapped[Device] = relationship(back_populates="notification_setting")


class NotificationRecipient(Model):
    """An address that receives the contract's notification mails (up to five)."""

    __tablename__ = "notification_recipient"
    __table_args__ = (UniqueConstraint("contract_id", "email"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))


class AuditEvent(Model):
    """Who did what, when and from where (操作履歴)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_contract_id_at", "contract_id", "occurred_at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    actor_email: Mapped[str] = mapped_column(String(254), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(20), default="")
    target_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
