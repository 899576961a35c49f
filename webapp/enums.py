"""Every status and kind the portal knows, with the label a contractor reads.

The stored value is a short English word; the label is what templates show.
"""

from __future__ import annotations

import enum
from typing import Self


class LabelledEnum(enum.StrEnum):
    """A string enum whose members carry a display label."""

    label: str

    def __new__(cls, value: str, label: str) -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def of(cls, value: str) -> Self:
        """Return the member stored as *value* (ValueError for anything else)."""
        return cls(value)  # type: ignore[call-arg]

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]


class DeviceKind(LabelledEnum):
    CAMERA = "camera", "ネットワークカメラ"
    RECORDER = "recorder", "レコーダー"


class CommStatus(LabelledEnum):
    """通信状態."""

    ONLINE = "online", "通信中"
    OFFLINE = "offline", "通信断"
    NEVER_CONNECTED = "never", "未接続"


class RecordingStatus(LabelledEnum):
    """録画状態."""

    CONTINUOUS = "continuous", "常時録画中"
    SCHEDULED = "scheduled", "スケジュール録画中"
    STOPPED = "stopped", "録画停止中"


class ServiceStatus(LabelledEnum):
    """サービス稼働状態."""

    ACTIVE = "active", "サービス有効"
    SUSPENDED = "suspended", "サービス停止中"
    AWAITING_SETUP = "awaiting_setup", "設定待ち"


class Plan(LabelledEnum):
    """加入サービス: what a licence entitles its device to."""

    LIVE = "live", "ライブ映像"
    RECORDING_7 = "rec7", "録画 7日"
    RECORDING_30 = "rec30", "録画 30日"


class LicenceState(LabelledEnum):
    """The stored state of a licence key; 期限切れ is derived from its term."""

    UNUSED = "unused", "未使用"
    IN_USE = "in_use", "使用中"
    REVOKED = "revoked", "失効"
    EXPIRED = "expired", "期限切れ"


class Role(LabelledEnum):
    CONTRACTOR = "contractor", "契約者"
    GENERAL = "general", "一般ユーザー"


class RecordingKind(LabelledEnum):
    IMAGE = "image", "静止画"
    CLIP = "clip", "動画"


class TokenPurpose(LabelledEnum):
    PASSWORD_RESET = "reset", "パスワード再設定"
    INVITATION = "invite", "招待"
    EMAIL_CHANGE = "email", "Eメールアドレス変更"
