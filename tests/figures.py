"""Figures a test wants in the run's closing summary (fuzz cases, property examples)."""

import pytest

FIGURES = pytest.StashKey[list]()


def report(config: pytest.Config, line: str) -> None:
    config.stash.setdefault(FIGURES, []).append(line)
