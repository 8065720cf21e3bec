"""A sync batch: each keyed operation claimed, run and committed on its own, each answered on its own.

Run from the view like a job runs its steps: the request's single commit at the edge would tie the
items together, and a batch cut halfway must keep what was done (the resent batch replays it from
the keys, srs/core/idempotency.run_keyed).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from srs.accounts.models import User
from srs.core.errors import ValidationFailed
from srs.core.idempotency import KeyInProgress, run_keyed
from srs.offline import services

# How an item's answer is named for the officer when its body did not say.
_OUTCOMES = {422: "refused", 409: "id_taken", 403: "refused", 400: "refused", 404: "refused"}


def run_batch(body: Any, user: User) -> list[dict[str, Any]]:
    """The answers to ``{"operations": [...]}``, in order; ValidationFailed when it is not a batch."""
    operations = body.get("operations") if isinstance(body, dict) else None
    if not isinstance(operations, list) or not operations or len(operations) > services.MAX_BATCH:
        raise ValidationFailed(
            _("The sync is not valid."),
            {"operations": [_("Give a list of 1 to %(n)d operations.", n=services.MAX_BATCH)]},
        )
    return [_run_one(item, user) for item in operations]


def _run_one(item: Any, user: User) -> dict[str, Any]:
    key = item.get("key") if isinstance(item, dict) else None
    try:
        operation = services.check_operation(item)
        material = {"op": operation["op"], "body": operation["body"], "recorded_at": operation["recorded_at"]}
        answer = run_keyed(
            operation["key"],
            f"sync:{operation['op']}",
            material,
            lambda: services.run_operation(operation, user),
        )
    except ValidationFailed as exc:
        # The envelope itself is wrong, or the key was used for something else: nothing is run.
        return {"key": key, "status": 422, "outcome": "refused", "detail": exc.detail, "errors": exc.errors}
    except KeyInProgress as exc:
        # The same item is being run by another request right now (two syncs at once): send it again.
        return {"key": key, "status": 409, "outcome": "in_progress", "detail": exc.detail, "errors": {}}
    result = {"key": operation["key"], "status": answer.status, "replayed": answer.replayed, **answer.body}
    result.setdefault("outcome", _OUTCOMES.get(answer.status, "error"))
    return result
