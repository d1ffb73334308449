"""A person's review log as CSV (``studybot review export``): people own their data."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import TextIO

from bot.core.reviews import RATINGS
from bot.store.base import ReviewEntry

COLUMNS = ("platform", "workspace", "user_id", "card_id", "reviewed_at", "rating", "rating_name", "source",
           "first", "due_before", "due_after", "stability", "difficulty")


def write_csv(entries: Sequence[ReviewEntry], out: TextIO) -> None:
    """One row per rating, oldest first, times in UTC ISO 8601."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for e in entries:
        writer.writerow((e.learner.platform, e.learner.workspace, e.learner.user_id, e.card_id,
                         e.reviewed_at.isoformat(), e.rating, RATINGS[e.rating], e.source, int(e.first),
                         e.due_before.isoformat(), e.due_after.isoformat(),
                         "" if e.stability is None else f"{e.stability:.4f}",
                         "" if e.difficulty is None else f"{e.difficulty:.4f}"))
