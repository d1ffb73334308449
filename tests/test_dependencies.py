"""Declared dependency bounds: every lower bound in pyproject.toml provides what the code uses.

The suite was run against exactly these lower bounds (a venv with ``discord.py==2.6.0``,
``slack-bolt==1.20.0``, ``slack-sdk==3.30.0``, ``aiohttp==3.9.0``, ``rapidfuzz==3.6.0``,
``aiosqlite==0.22.0``, ``tzdata==2024.1``, ``PyYAML==6.0``, ``numpy==1.26.0``,
``snowballstemmer==2.2.0``, ``PyStemmer==2.2.0.2``) and passed; these are the ones an older
release would break, with what breaks.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
NEEDED = {
    "discord.py": ((2, 6), "ui.LayoutView, View.walk_children and MessageFlags.components_v2 (views.shows_button)"),
    "aiosqlite": ((0, 22), "Connection._thread, made a daemon so a failed start cannot hang (store.sqlite)"),
    "PyStemmer": ((2, 2, 0, 2), "a wheel for CPython 3.11 on Linux (2.2.0's source archive failed to build: "
                                "libstemmer_c-2.2.0/mkinc_utf8.mak is missing from it)"),
}


def lower_bounds() -> dict[str, tuple[int, ...]]:
    """Each dependency's ``>=`` bound, by distribution name."""
    dependencies = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    bounds = {}
    for spec in dependencies:
        match = re.match(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)", spec)
        assert match, f"{spec!r} declares no lower bound"
        bounds[match.group(1)] = tuple(int(part) for part in match.group(2).split("."))
    return bounds


@pytest.mark.parametrize("name", sorted(NEEDED))
def test_declared_lower_bound_provides_what_the_code_uses(name: str) -> None:
    needed, why = NEEDED[name]
    declared = lower_bounds()[name]
    assert declared >= needed, f"{name}>={'.'.join(map(str, declared))} lacks {why}"


def test_discord_py_is_kept_below_its_next_major_version() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    assert "discord.py>=2.6,<3" in dependencies
