"""Review's undo: a reviewer takes back their own approval or rejection while nothing has happened since.

```
approved --unapprove--> pending        rejected --unreject--> pending (with the reason it had before)
```
Only the reviewer who decided (`reviewed_by`) can take it back, and only from the state they set: a bio
the worker has claimed (`posting`) or posted is past undoing (`djbios unpost` takes a posted one down).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.errors import IllegalTransition
from bot.store.candidate import Candidate
from bot.store.tables import CandidateRow

_UNDO = {"approved": "unapprove", "rejected": "unreject"}  # the decision -> the transition that undoes it


class ReviewTransitions:
    """Mixed into Store: undo_review."""

    if TYPE_CHECKING:  # what Store provides (bot/store/store.py)

        def get(self, cid: int) -> Candidate: ...
        def _transition(
            self, cid: int, action: str, now: datetime | None, *, holder: str | None = None, **note: Any
        ) -> AbstractContextManager[CandidateRow]: ...

    def undo_review(
        self, cid: int, decision: str, *, reason: str | None = None, by: str = "operator", now: datetime | None = None
    ) -> Candidate:
        """Take back `by`'s `decision` ("approved" or "rejected"): the bio is pending again.

        `reason`: what the bio's reason was before a rejection replaced it. The history records the
        transition (unapprove, unreject) with `by`.
        """
        with self._transition(cid, _UNDO[decision], now, by=by) as row:
            if row.reviewed_by != by:
                raise IllegalTransition(f"candidate {cid} was {decision} by {row.reviewed_by}, not {by}")
            row.status, row.reviewed_at, row.reviewed_by = "pending", None, None
            if decision == "rejected":
                row.reason = reason
        return self.get(cid)
