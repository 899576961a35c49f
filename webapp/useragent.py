"""Tell a PC browser from a smartphone or tablet, from the User-Agent header.

The manual allows login from a PC only. The judgement uses ua-parser's parse of the
header; a browser it cannot place is treated as a PC, so that unusual desktop
browsers are not locked out.
"""

from __future__ import annotations

from functools import lru_cache

from ua_parser import parse

_MOBILE_OS = frozenset(
    {
        "Android",
        "iOS",
        "iPadOS",
        "Windows Phone",
        "Windows Mobile",
        "BlackBerry OS",
        "BlackBerry Tablet OS",
        "KaiOS",
        "Firefox OS",
        "Symbian OS",
        "Tizen",
        "HarmonyOS",
        "webOS",
    }
)
_MOBILE_DEVICE = frozenset(
    {"iPhone", "iPad", "iPod", "Generic Smartphone", "Generic Tablet", "Generic Feature Phone"}
)


@lru_cache(maxsize=1024)
def is_mobile(user_agent: str) -> bool:
    """Return True when the header names a smartphone or tablet."""
    result = parse(user_agent[:512])
    if result.os is not None and result.os.family in _MOBILE_OS:
        return True
    return result.device is not None and result.device.family in _MOBILE_DEVICE


@lru_cache(maxsize=1024)
def browser_summary(user_agent: str) -> str:
    """Name the browser, system and device a header claims, briefly (for 操作履歴).

    A header ua-parser cannot place is shown as it came, cut short.
    """
    result = parse(user_agent[:512])
    parts = []
    if result.user_agent is not None and result.user_agent.family != "Other":
        parts.append(_with_version(result.user_agent.family, result.user_agent.major))
    if result.os is not None and result.os.family != "Other":
        parts.append(_with_version(result.os.family, result.os.major))
    if result.device is not None and result.device.family not in ("Other", "Mac", "Spider"):
        parts.append(result.device.family)
    return " / ".join(parts) if parts else user_agent[:60]


def _with_version(name: str, major: str | None) -> str:
    return f"{name} {major}" if major else name


def warm_up() -> None:
    """Compile ua-parser's rules now rather than during the first login."""
    is_mobile("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
