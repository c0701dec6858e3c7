"""API: the deadline rules and the deadline calculation (the same engine as the calculator page)."""

from __future__ import annotations

from typing import Any

from flask import Response

from qa_incidents.api import schemas as s
from qa_incidents.api.problems import Problem
from qa_incidents.api.registry import operation
from qa_incidents.api.resources.incidents import deadline_out
from qa_incidents.notifications.deadlines import RULES, compute

TAG = "Deadlines"


@operation("GET", "/deadline-rules", summary="The regimes whose deadlines can be calculated", tag=TAG,
           responses={200: list[s.DeadlineRuleOut]}, errors=(401,))
def list_deadline_rules(*, user: Any) -> Response:
    from qa_incidents.api.views import json_response

    return json_response([s.DeadlineRuleOut(code=r.code, regime=r.regime, kind=r.kind.value, amount=r.amount,
                                            time_zone=r.time_zone, source=r.source, unconfirmed=list(r.unconfirmed))
                          for _, r in sorted(RULES.items())])


@operation("GET", "/deadline", summary="When a notification under a regime is due", tag=TAG,
           query=s.DeadlineQuery, responses={200: s.DeadlineOut}, errors=(401, 404, 422))
def calculate_deadline(*, user: Any, query: s.DeadlineQuery) -> Response:
    from qa_incidents.api.views import json_response

    rule = RULES.get(query.regime)
    if rule is None:
        raise Problem(404, f"No deadline rule for the regime {query.regime!r}; see /deadline-rules.")
    try:
        deadline = compute(rule, start=query.aware_at, aware_timezone=query.timezone or None, country=query.country)
    except OverflowError:
        raise Problem(422, "This date is out of range.", errors={"aware_at": "out of range"}) from None
    except ValueError as e:
        raise Problem(422, f"No deadline can be computed: {e}", errors={"aware_at": str(e)}) from None
    return json_response(deadline_out(deadline))
