"""Every status and kind the portal knows, with the label a contractor reads.

The stored value is a short English word; the label is what templates show.
"""

from __future__ import annotations

import enum
from typing import Self

from .i18n import N_, lazy, translate


class LabelledEnum(enum.StrEnum):
    """A string enum whose members carry a display label (Japanese, translated on use)."""

    text: str

    def __new__(cls, value: str, text: str) -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.text = text
        return member

    @property
    def label(self) -> str:
        """The label in the current language (lists show many: translations are cached)."""
        return translate(self.text)

    @classmethod
    def of(cls, value: str) -> Self:
        """Return the member stored as *value* (ValueError for anything else)."""
        return cls(value)  # type: ignore[call-arg]

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        # Forms are built at import time: their labels translate lazily, when rendered.
        return [(member.value, lazy(member.text)) for member in cls]


class DeviceKind(LabelledEnum):
    CAMERA = "camera", N_("ネットワークカメラ")
    RECORDER = "recorder", N_("レコーダー")


class CommStatus(LabelledEnum):
    """通信状態."""

    ONLINE = "online", N_("通信中")
    OFFLINE = "offline", N_("通信断")
    NEVER_CONNECTED = "never", N_("未接続")


class RecordingStatus(LabelledEnum):
    """録画状態."""

    CONTINUOUS = "continuous", N_("常時録画中")
    SCHEDULED = "scheduled", N_("スケジュール録画中")
    STOPPED = "stopped", N_("録画停止中")
    # Not reported by devices: what a plan that keeps no recordings reads as (see models).
    NONE = "none", N_("録画なし")

    @classmethod
    def reported(cls) -> tuple[RecordingStatus, ...]:
        """The statuses a device reports of itself (録画なし is the portal's reading of a plan)."""
        return (cls.CONTINUOUS, cls.SCHEDULED, cls.STOPPED)


class ServiceStatus(LabelledEnum):
    """サービス稼働状態."""

    ACTIVE = "active", N_("サービス有効")
    SUSPENDED = "suspended", N_("サービス停止中")
    AWAITING_SETUP = "awaiting_setup", N_("設定待ち")


class Trouble(LabelledEnum):
    """What puts a device among those the portal shows first (a device may be in several).

    The rule for each is models.device_troubles; its SQL, devices/queries.trouble_is.
    """

    OFFLINE = "offline", N_("通信断")
    RECORDING_STOPPED = "recording_stopped", N_("録画停止中")
    SERVICE_STOPPED = "service_stopped", N_("サービス停止中")
    LICENCE_ENDING = "licence_ending", N_("ライセンス期限30日以内")


class Plan(LabelledEnum):
    """加入サービス: what a licence entitles its device to, and so what the portal keeps of it."""

    LIVE = "live", N_("ライブ映像")
    RECORDING_7 = "rec7", N_("録画 7日")
    RECORDING_30 = "rec30", N_("録画 30日")

    @property
    def retention_days(self) -> int | None:
        """How many days of recordings the plan keeps; None: no history at all.

        A plan without history keeps only the device's newest still image. What the
        days mean, in SQL, is services/retention.py.
        """
        return PLAN_RETENTION_DAYS[self]

    @property
    def keeps_recordings(self) -> bool:
        """Whether the plan keeps a recording history (録画一覧, clips); ライブ映像 does not."""
        return self.retention_days is not None


# The plans as data: each one's recording history, in the service's days.
PLAN_RETENTION_DAYS: dict[Plan, int | None] = {
    Plan.LIVE: None,
    Plan.RECORDING_7: 7,
    Plan.RECORDING_30: 30,
}


class LicenceState(LabelledEnum):
    """The stored state of a licence key; 期限切れ is derived from its term."""

    UNUSED = "unused", N_("未使用")
    IN_USE = "in_use", N_("使用中")
    REVOKED = "revoked", N_("失効")
    EXPIRED = "expired", N_("期限切れ")


class Role(LabelledEnum):
    CONTRACTOR = "contractor", N_("契約者")
    GENERAL = "general", N_("一般ユーザー")


class RecordingKind(LabelledEnum):
    IMAGE = "image", N_("静止画")
    CLIP = "clip", N_("動画")


class TokenPurpose(LabelledEnum):
    PASSWORD_RESET = "reset", N_("パスワード再設定")
    INVITATION = "invite", N_("招待")
    EMAIL_CHANGE = "email", N_("Eメールアドレス変更")
