"""API: recall campaigns the caller may read (their division, or all for head office and executives) and their progress.

Read-only: preparing, launching (a signature) and closing (a signature) a recall happen on its pages.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response

from qa_incidents.api import schemas as s
from qa_incidents.api.problems import Problem
from qa_incidents.api.registry import operation
from qa_incidents.core.clock import to_zone
from qa_incidents.core.db import ID_MAX
from qa_incidents.core.permissions import Capability, can
from qa_incidents.core.web import db, now
from qa_incidents.recalls import rules
from qa_incidents.recalls import service as recalls
from qa_incidents.recalls.models import RecallCampaign, RecallIncident

TAG = "Recalls"


def _require(user: Any) -> None:
    if not can(user.actor, Capability.READ_INCIDENTS):
        raise Problem(403, "Your role does not allow this.")


def _today(user: Any) -> Any:
    return to_zone(now(), user.timezone).date()


def _tally(t: rules.Tally) -> s.TallyOut:
    return s.TallyOut(located=t.located, notified=t.notified, repaired=t.repaired, replaced=t.replaced,
                      refunded=t.refunded, remedied=t.remedied)


def _summary_fields(recall: RecallCampaign, progress: recalls.Progress) -> dict[str, Any]:
    return dict(id=recall.id, reference=recall.reference, status=recall.status, division_id=recall.division_id,
                division_code=recall.division.code, title=recall.title, remedy=recall.remedy,
                countries=list(recall.countries or []), units_affected=recall.units_affected,
                target_percent=recall.target_percent, remedied=progress.totals.remedied,
                completion_rate=progress.rate, stalled=progress.stalled_since is not None,
                launched_at=recall.launched_at, closed_at=recall.closed_at, updated_at=recall.updated_at)


def recall_out(recall: RecallCampaign, user: Any) -> s.RecallOut:
    progress = recalls.progress(db(), recall, today=_today(user))
    incidents = [i.reference for i in recalls.linked_incidents(db(), recall.id, user=user)]
    return s.RecallOut(
        **_summary_fields(recall, progress), version=recall.version, description=recall.description or "",
        target_date=recall.target_date, stall_weeks=recall.stall_weeks, report_regimes=list(recall.report_regimes or []),
        owner=recall.owner.name, incidents=incidents, effectiveness_check=recall.effectiveness_check or "",
        withdrawn_reason=recall.withdrawn_reason or "", created_at=recall.created_at,
        progress=s.RecallProgressOut(
            totals=_tally(progress.totals), completion_rate=progress.rate, completion=rules.percent(progress.rate),
            target_percent=recall.target_percent, target_met=progress.target_met,
            last_progress_on=progress.last_progress_on, stalled_since=progress.stalled_since,
            by_country={k: _tally(v) for k, v in progress.by_country.items()},
            by_channel={k: _tally(v) for k, v in progress.by_channel.items()},
            curve=[s.CurvePoint(week_ending=day, remedied=total) for day, total in progress.curve]))


def filtered(user: Any, *, status: str | None = None, division_id: int | None = None,
             incident_id: int | None = None) -> sa.Select[Any]:
    """The campaigns the user may read (the recalls service's own scoping), with the list page's filters."""
    stmt = recalls.visible(sa.select(RecallCampaign), user)
    if status:
        stmt = stmt.where(RecallCampaign.status == status)
    if division_id is not None:
        stmt = stmt.where(RecallCampaign.division_id == division_id)
    if incident_id is not None:
        stmt = stmt.where(RecallCampaign.id.in_(
            sa.select(RecallIncident.recall_id).where(RecallIncident.incident_id == incident_id)))
    return stmt


@operation("GET", "/recalls", summary="List recalls (filters, cursor pagination)", tag=TAG, query=s.RecallQuery,
           responses={200: s.RecallPage},
           description="Only the recalls the token's user may read (their division, or all for head office and "
                       "executives), newest first, each with its completion. Pass next_cursor as 'after' to page on.")
def list_recalls(*, user: Any, query: s.RecallQuery) -> Response:
    from qa_incidents.api.views import json_response

    _require(user)
    if query.incident_id is not None:
        from qa_incidents.incidents.service import get_incident

        get_incident(db(), user=user, incident_id=query.incident_id)
    stmt = filtered(user, status=query.status, division_id=query.division_id, incident_id=query.incident_id)
    total = db().scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    if query.after is not None and int(query.after) <= ID_MAX:  # past every id: nothing to leave out
        stmt = stmt.where(RecallCampaign.id < int(query.after))
    found = list(db().scalars(stmt.order_by(RecallCampaign.id.desc()).limit(query.limit + 1)))
    more = len(found) > query.limit
    found = found[:query.limit]
    today = _today(user)
    items = [s.RecallSummaryOut(**_summary_fields(r, recalls.progress(db(), r, today=today))) for r in found]
    return json_response(s.RecallPage(items=items, total=total, next_cursor=str(found[-1].id) if more else None))


@operation("GET", "/recalls/{recall_id}", summary="Read a recall with its progress", tag=TAG,
           responses={200: s.RecallOut},
           description="Totals located, notified and remedied, by country and channel, the completion against the "
                       "target, the weekly completion curve and whether the campaign has stalled.")
def get_recall(*, user: Any, recall_id: int) -> Response:
    from qa_incidents.api.views import json_response

    _require(user)
    recall = recalls.get_recall(db(), user=user, recall_id=recall_id)
    return json_response(recall_out(recall, user))
