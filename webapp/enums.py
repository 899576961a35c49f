"""Every status and kind the portal knows, with the label a contractor reads.

The stored value is a short English word; the label is what templates show.
"""

from __future__ import annotations

import enum
from typing import Self

from flask_babel import lazy_gettext as _l


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
    CAMERA = "camera", _l("ネットワークカメラ")
    RECORDER = "recorder", _l("レコーダー")


class CommStatus(LabelledEnum):
    """通信状態."""

    ONLINE = "online", _l("通信中")
    OFFLINE = "offline", _l("通信断")
    NEVER_CONNECTED = "never", _l("未接続")


class RecordingStatus(LabelledEnum):
    """録画状態."""

    CONTINUOUS = "continuous", _l("常時録画中")
    SCHEDULED = "scheduled", _l("スケジュール録画中")
    STOPPED = "stopped", _l("録画停止中")


class ServiceStatus(LabelledEnum):
    """サービス稼働状態."""

    ACTIVE = "active", _l("サービス有効")
    SUSPENDED = "suspended", _l("サービス停止中")
    AWAITING_SETUP = "awaiting_setup", _l("設定待ち")


class Plan(LabelledEnum):
    """加入サービス: what a licence entitles its device to."""

    LIVE = "live", _l("ライブ映像")
    RECORDING_7 = "rec7", _l("録画 7日")
    RECORDING_30 = "rec30", _l("録画 30日")


class LicenceState(LabelledEnum):
    """The stored state of a licence key; 期限切れ is derived from its term."""

    UNUSED = "unused", _l("未使用")
    IN_USE = "in_use", _l("使用中")
    REVOKED = "revoked", _l("失効")
    EXPIRED = "expired", _l("期限切れ")


class Role(LabelledEnum):
    CONTRACTOR = "contractor", _l("契約者")
    GENERAL = "general", _l("一般ユーザー")


class RecordingKind(LabelledEnum):
    IMAGE = "image", _l("静止画")
    CLIP = "clip", _l("動画")


class TokenPurpose(LabelledEnum):
    PASSWORD_RESET = "reset", _l("パスワード再設定")
    INVITATION = "invite", _l("招待")
    EMAIL_CHANGE = "email", _l("Eメールアドレス変更")
