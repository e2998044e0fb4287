"""The header's global search: one box that finds a customer by any identity or name, an
order by number or till receipt, a SKU by code, barcode or name.

Each app registers a finder in its own `dashboard.py`::

    register_finder("orders", "Orders", find_orders, order=20)

`finder(request, term)` returns `Hit`s the user may see, exact matches flagged. A scanner
types a code and Enter: when exactly one exact hit comes back, the search goes straight to
it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

RESULTS_PER_KIND = 10


@dataclass(frozen=True)
class Hit:
    label: str
    url: str
    detail: str = ""
    exact: bool = False


@dataclass
class Group:
    name: str
    title: str
    hits: list[Hit] = field(default_factory=list)


@dataclass(frozen=True)
class _Finder:
    name: str
    title: str
    fn: Callable
    order: int


_FINDERS: dict[str, _Finder] = {}


def register_finder(name: str, title: str, fn: Callable, *, order: int = 50) -> None:
    _FINDERS[name] = _Finder(name=name, title=title, fn=fn, order=order)


@dataclass
class SearchResults:
    term: str
    groups: list[Group]

    @property
    def count(self) -> int:
        return sum(len(group.hits) for group in self.groups)

    @property
    def only_exact(self) -> Hit | None:
        """The one thing a scanned code names, if it names exactly one."""
        exact = [hit for group in self.groups for hit in group.hits if hit.exact]
        return exact[0] if len(exact) == 1 else None


def global_search(request, term: str) -> SearchResults:
    term = term.strip()
    groups = []
    if term:
        for finder in sorted(_FINDERS.values(), key=lambda f: (f.order, f.name)):
            hits = list(finder.fn(request, term) or [])[:RESULTS_PER_KIND]
            groups.append(Group(name=finder.name, title=finder.title, hits=hits))
    return SearchResults(term=term, groups=groups)
