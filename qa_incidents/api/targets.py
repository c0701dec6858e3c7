"""Record kinds an import makes besides incidents, through the owning package's own functions."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_incidents.core import audit
from qa_incidents.core.errors import DomainError
from qa_incidents.core.permissions import Capability, can_work_division


def lesson_from_row(session: so.Session, *, record: dict[str, str], values: dict[str, str], incident_id: int,
                    user: Any, now: datetime) -> str | None:
    """One proposed lesson per FDA recall event, held for head-office QA's signed review (never published by an
    import); proposing takes the capability of writing reviews (idempotent by source_ref)."""
    from qa_incidents.api import pending_lessons

    return pending_lessons.propose(session, record=record, incident_id=incident_id, user=user, now=now)


# --- recall campaigns ---------------------------------------------------------------------------------------------

#: Words of a source's free-text action → the remedy; anything else is an inspection (the text is kept).
REMEDY_WORDS = (
    (("replac", "exchang", "swap"), "replacement"),
    (("refund", "reimburs", "credit"), "refund"),
    (("repair", "correct", "updat", "upgrad", "modif", "retrofit", "rework", "fix", "patch", "relabel"), "repair"),
)
ENDED_WORDS = ("terminat", "complet", "closed", "ended")
DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y")


def remedy_of(text: str) -> str:
    """The remedy a source's action text describes (inspection when it names none of the others)."""
    lowered = text.lower()
    for words, remedy in REMEDY_WORDS:
        if any(word in lowered for word in words):
            return remedy
    return "inspection"


def date_of(text: str) -> date | None:
    """A date as the public sources write it (ISO, 'August 24, 2006', 20060824…); None when there is none."""
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _units(text: str) -> int:
    match = re.search(r"\d[\d,]*", text or "")
    return min(int(match.group(0).replace(",", "")), 10**12) if match else 0


def recall_from_row(session: so.Session, *, record: dict[str, str], values: dict[str, str], incident_id: int,
                    user: Any, now: datetime, source: str) -> str | None:
    """The recall campaign of a source row, created through the recalls service, under the imported incident.

    Idempotent by the profile's recall key: rows of the same recall (e.g. the products of one FDA recall event)
    share one campaign, each linking its incident. An imported campaign stays a draft: launching (and closing) a
    recall takes head-office QA's signature, so no import reaches those states. The source's own dates and
    status are kept in the description and the audit event, as history for the person who reviews the draft.
    Importing recalls takes the same capability as creating them, for the incident's division.
    """
    from qa_incidents.api import importer
    from qa_incidents.incidents.models import Incident
    from qa_incidents.recalls import service as recalls
    from qa_incidents.recalls.models import RecallCampaign, RecallIncident

    key = recall_key(values)
    if not key:
        return "rejected: no recall key"
    incident = session.get(Incident, incident_id)
    if incident is None:
        return "rejected: no incident"
    if not can_work_division(user.actor, incident.division_id, Capability.MANAGE_RECALLS):
        return "rejected: your role does not run recalls for this division"
    existing = importer.imported_entity(session, source, key, "recall")
    if existing is not None:
        linked = session.scalar(sa.select(RecallIncident.id).where(RecallIncident.recall_id == existing,
                                                                    RecallIncident.incident_id == incident_id))
        if linked is None:
            recall = session.get(RecallCampaign, existing)
            session.add(RecallIncident(recall_id=existing, incident_id=incident_id, linked_by_id=user.id, linked_at=now))
            session.flush()
            audit.record(session, actor_id=user.id, entity_type="recall", entity_id=existing, action="incident_linked",
                         now=now, incident_id=incident_id,
                         changes={"incident": [None, incident.reference],
                                  "recall": [None, recall.reference if recall else str(existing)]})
        return "present"
    data, history = _campaign_of(values, key, incident, user)
    try:
        with session.begin_nested():
            recall = recalls.create_campaign(session, user=user, incident_ids=[incident_id], now=now, data=data)
            audit.record(session, actor_id=user.id, entity_type="recall", entity_id=recall.id,
                         action="imported_history", now=now, incident_id=incident_id, changes=history)
            importer.remember(session, source=source, key=key, entity_type="recall", entity_id=recall.id,
                              run_id=None, now=now)
    except DomainError as e:
        reasons = getattr(e, "errors", None)
        return "rejected: " + ("; ".join(f"{k}: {v}" for k, v in reasons.items()) if reasons else str(e))
    return "created"


def recall_key(values: dict[str, str]) -> str:
    """The recall's key in its source, from the profile's recall section ("" when the row gives none)."""
    key = " ".join((values.get("key") or "").split())
    if len(key) > 200:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _campaign_of(values: dict[str, str], key: str, incident: Any, user: Any) -> tuple[Any, dict[str, Any]]:
    """The draft campaign a source row describes, and the changes of its "imported_history" audit event."""
    from qa_incidents.core.countries import country_codes
    from qa_incidents.recalls import service as recalls

    action = values.get("remedy") or ""
    status_text = values.get("status") or ""
    started = date_of(values.get("started_on") or "") or incident.aware_at.date()
    ended = date_of(values.get("closed_on") or "")
    closed = ended is not None or any(word in status_text.lower() for word in ENDED_WORDS)
    known = country_codes()
    countries = sorted({c for c in re.split(r"[\s,;]+", (values.get("countries") or "").upper()) if c in known})
    description = "\n".join(line for line in (
        f"Imported from a public source (recall {key}).",
        f"Action: {action}" if action else "",
        f"Status in the source: {status_text}" if status_text else "",
        f"Started in the source: {started.isoformat()}",
        f"Ended in the source: {(ended or started).isoformat()}" if closed else "",
        f"Units in the source: {values.get('units')}" if values.get("units") else "",
        "Not launched here: a launch takes head-office QA's signature.",
    ) if line)
    title = " ".join((values.get("title") or "").split()) or incident.title
    if len(title) > 200:
        title = title[:199].rstrip() + "…"
    data = recalls.CampaignInput(title=title, remedy=remedy_of(action), description=description, countries=countries,
                                 units_affected=_units(values.get("units") or ""), owner_id=user.id)
    history = {"source": [None, key], "source_status": [None, "closed" if closed else "running"],
               "source_started_on": [None, started.isoformat()],
               "source_ended_on": [None, (ended or started).isoformat() if closed else None]}
    return data, history


# --- the same for a whole batch of rows ---------------------------------------------------------------------------


def lessons_from_rows(session: so.Session, *, items: list[dict[str, Any]], user: Any, now: datetime, source: str,
                      run_id: int | None = None) -> list[str]:
    """lesson_from_row for a batch (importer.BATCH_TARGETS), with the reasons lesson_row_prepared() scrubbed."""
    from qa_incidents.api import pending_lessons

    scrubbed = {i["record"].get("Reason for Recall", "") or "": i["prepared"] for i in items
                if i.get("prepared") is not None}
    return pending_lessons.propose_many(session, items=[(i["record"], i["incident_id"]) for i in items], user=user,
                                        now=now, scrubbed=scrubbed)


def lesson_row_prepared(record: dict[str, str], values: dict[str, str]) -> str:
    """What lessons_from_rows needs of a row worked out ahead (importer.PREPARE_TARGETS): its scrubbed reason."""
    from qa_incidents.api import pending_lessons

    return pending_lessons.scrubbed_reason(record)


def recalls_from_rows(session: so.Session, *, items: list[dict[str, Any]], user: Any, now: datetime, source: str,
                      run_id: int | None = None) -> list[str]:
    """recall_from_row for a batch (importer.BATCH_TARGETS), with the same outcomes in order: a recall key seen
    before (in an earlier import or earlier in the batch) links the row's incident to its campaign; the first row
    of a new key prepares the draft campaign (recalls.bulk, one INSERT for the batch's new campaigns)."""
    from qa_incidents.api import importer
    from qa_incidents.incidents.models import Incident
    from qa_incidents.recalls.bulk import create_campaigns
    from qa_incidents.recalls.models import RecallCampaign, RecallIncident

    outcomes: list[str] = ["" for _ in items]
    keys = [recall_key(i["values"]) for i in items]
    # The incidents: those filed in the batch as given (an Incident, or what was filed of it), the others loaded.
    incident_of: dict[int, Any] = {i["incident_id"]: i["incident"] for i in items if i.get("incident") is not None}
    wanted = sorted({i["incident_id"] for i in items if i["incident_id"] not in incident_of})
    for n in range(0, len(wanted), 500):
        incident_of.update((i.id, i) for i in session.scalars(sa.select(Incident).where(
            Incident.id.in_(wanted[n:n + 500]))))
    may: dict[int, bool] = {}
    recall_of = importer.imported_entities(session, source, {k for k in keys if k}, "recall")
    references: dict[int, str] = {}
    recall_ids = sorted(set(recall_of.values()))
    for m in range(0, len(recall_ids), 500):
        references.update(session.execute(sa.select(RecallCampaign.id, RecallCampaign.reference)
                                          .where(RecallCampaign.id.in_(recall_ids[m:m + 500]))).all())
    linked: set[tuple[int, int]] = set()
    pairs = sorted({(recall_of[k], i["incident_id"]) for k, i in zip(keys, items, strict=True) if k in recall_of})
    for m in range(0, len(pairs), 500):
        chunk = pairs[m:m + 500]
        linked.update(session.execute(sa.select(RecallIncident.recall_id, RecallIncident.incident_id).where(
            RecallIncident.recall_id.in_({p[0] for p in chunk}),
            RecallIncident.incident_id.in_({p[1] for p in chunk}))).all())
    waiting = list(range(len(items)))
    links: list[dict[str, Any]] = []
    while waiting:
        creating: dict[str, int] = {}
        later: list[int] = []
        for n in waiting:
            item, key = items[n], keys[n]
            if not key:
                outcomes[n] = "rejected: no recall key"
                continue
            incident = incident_of.get(item["incident_id"])
            if incident is None:
                outcomes[n] = "rejected: no incident"
                continue
            if incident.division_id not in may:
                may[incident.division_id] = can_work_division(user.actor, incident.division_id,
                                                              Capability.MANAGE_RECALLS)
            if not may[incident.division_id]:
                outcomes[n] = "rejected: your role does not run recalls for this division"
                continue
            if key in recall_of:
                recall_id = recall_of[key]
                if (recall_id, incident.id) not in linked:
                    linked.add((recall_id, incident.id))
                    links.append({"recall_id": recall_id, "incident_id": incident.id, "linked_by_id": user.id,
                                  "linked_at": now})
                    audit.record(session, actor_id=user.id, entity_type="recall", entity_id=recall_id,
                                 action="incident_linked", now=now, incident_id=incident.id,
                                 changes={"incident": [None, incident.reference],
                                          "recall": [None, references.get(recall_id, str(recall_id))]})
                outcomes[n] = "present"
            elif key in creating:
                later.append(n)
            else:
                creating[key] = n
        order = list(creating.values())
        made = [_campaign_of(items[n]["values"], keys[n], incident_of[items[n]["incident_id"]], user) for n in order]
        results = create_campaigns(session, user=user, now=now,
                                   items=[(data, incident_of[items[n]["incident_id"]])
                                          for n, (data, _) in zip(order, made, strict=True)])
        remembered = []
        for n, (_, history), result in zip(order, made, results, strict=True):
            if isinstance(result, DomainError):
                reasons = getattr(result, "errors", None)
                outcomes[n] = "rejected: " + ("; ".join(f"{k}: {v}" for k, v in reasons.items()) if reasons
                                              else str(result))
                continue
            recall_id, reference = result
            recall_of[keys[n]], references[recall_id] = recall_id, reference
            linked.add((recall_id, items[n]["incident_id"]))
            audit.record(session, actor_id=user.id, entity_type="recall", entity_id=recall_id,
                         action="imported_history", now=now, incident_id=items[n]["incident_id"], changes=history)
            remembered.append({"source": source, "source_key": keys[n], "entity_type": "recall",
                               "entity_id": recall_id, "import_run_id": None, "created_at": now})
            outcomes[n] = "created"
        importer.remember_many(session, remembered)
        waiting = later
    if links:
        from qa_incidents.core.bulk import insert_rows

        insert_rows(session.connection(), RecallIncident.__table__, links)
    return outcomes
