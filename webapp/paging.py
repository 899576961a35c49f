"""Page numbers: which page of how many, clamped to what exists."""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_PAGE = 10**6


def parse_page(raw: str | None) -> int:
    """Read a 1-based page number leniently: anything unusable is page 1."""
    # isdigit() alone takes "²" and other digits int() refuses.
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 7:
        return 1
    return min(max(int(raw), 1), MAX_PAGE)


@dataclass(frozen=True)
class Pagination:
    """Where a page stands among *total* items shown *per_page* at a time."""

    page: int
    per_page: int
    total: int

    @classmethod
    def clamp(cls, requested: int, per_page: int, total: int) -> Pagination:
        """A page past the end shows the last one."""
        pages = max(1, math.ceil(total / per_page))
        return cls(page=min(max(requested, 1), pages), per_page=per_page, total=total)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


class Paged:
    """A page of results that the pager macro reads: its Pagination's numbers, passed on."""

    pagination: Pagination

    @property
    def page(self) -> int:
        return self.pagination.page

    @property
    def pages(self) -> int:
        return self.pagination.pages

    @property
    def has_prev(self) -> bool:
        return self.pagination.has_prev

    @property
    def has_next(self) -> bool:
        return self.pagination.has_next
