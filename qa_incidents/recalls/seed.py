"""Demo recalls: a launched extension-cord recall with notices and four weeks of progress, and a refrigerator
recall being prepared. Idempotent: does nothing once any recall exists."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, has_app_context

from qa_incidents.accounts.models import User
from qa_incidents.core.clock import utcnow
from qa_incidents.incidents.models import Incident
from qa_incidents.recalls import service
from qa_incidents.recalls.models import RecallCampaign
from qa_incidents.risk import service as risk

DEMO_PASSWORD = "demo-password-2026"


def _png(width: int = 8, height: int = 8) -> bytes:
    """A small grey PNG standing in for a product photo."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x99\x99\x99" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def seed_demo(session: so.Session) -> None:
    """Create the demo recalls if there are none (uses the demo users and incidents of qa_incidents.seed)."""
    if session.scalar(sa.select(sa.func.count(RecallCampaign.id))):
        return
    users = {u.email: u for u in session.scalars(sa.select(User))}
    hq, division_qa = users.get("hq.qa@example.com"), users.get("division.qa@example.com")
    # The cord recall is drafted by the cable division's QA manager and launched by head-office QA: nobody signs
    # what they prepared.
    cable_qa = users.get("cable.qa@example.com") or hq
    cord = session.scalar(sa.select(Incident).where(Incident.title == "Extension cord plug melted"))
    fridge = session.scalar(sa.select(Incident).where(Incident.title == "Refrigerator caught fire in kitchen"))
    if hq is None or division_qa is None or cord is None or fridge is None:
        return
    now = utcnow()
    start = now - timedelta(days=29)

    recall = service.create_campaign(session, user=cable_qa, incident_ids=[cord.id], now=start, data=service.CampaignInput(
        title="EX-15A3 plug overheating: replace cord", remedy="replacement",
        description="Plug contacts undersized in lots L2604–L2606; replacement cord shipped free of charge.",
        countries=["CA", "US"], units_affected=64000, target_percent=85, stall_weeks=4,
        report_regimes=["US-CPSC-MPR"], owner_id=hq.id))
    service.add_population_line(session, user=cable_qa, recall_id=recall.id, exclude=False, model="EX-15A3", lot="",
                                serial_first="EX-2604-00001", serial_last="EX-2606-99999", units=64000,
                                note="All production of April to June 2026", now=start)
    service.add_population_line(session, user=cable_qa, recall_id=recall.id, exclude=True, model="EX-15A3", lot="",
                                serial_first="EX-2605-40000", serial_last="EX-2605-44999", units=0,
                                note="Reworked before shipping", now=start)
    service.record_risk_assessment(session, user=cable_qa, recall_id=recall.id, now=start, data=risk.AssessmentInput(
        method="r_map", frequency="3/64000", harm_level="3",
        frequency_basis="3 melted plugs reported among 64,000 units in their first year of use.",
        rationale="A melted plug can start a fire (harm III). At about 5 in 100,000 per unit-year the risk lies in "
                  "region A: unacceptable, so the cords are replaced."))
    service.launch(session, user=hq, recall_id=recall.id, password=DEMO_PASSWORD, comment="Demo launch", now=start)
    picture = None
    if has_app_context() and "qa_storage" in current_app.extensions:
        picture = current_app.extensions["qa_storage"].put(io.BytesIO(_png()))
    notice = service.add_web_notice(session, user=hq, recall_id=recall.id, picture=picture, picture_name="ex-15a3.png",
                                    keep_picture_from=None, now=start + timedelta(hours=2), content={
        "heading": "Product safety recall", "product_name": "Extension cord 15 A, 3 outlets (EX-15A3)",
        "brand": "Sold under the Acme brand at hardware stores and online.",
        "identification": "Model EX-15A3. Serial numbers EX-2604-00001 to EX-2606-99999, printed on the flag label "
                          "near the plug.",
        "where_sold": "Sold in Canada and the United States from May to September 2026.",
        "units": "About 64,000 units.", "hazard": "The plug can overheat and melt, posing a fire and burn hazard.",
        "incidents": "One report of a melted plug and scorched carpet; no injuries.",
        "what_to_do": "Stop using the cord immediately and unplug it.",
        "remedy": "We send you a new cord free of charge; no need to return the old one.",
        "contact": "Recall line 1-800-000-0000 (Mon–Fri 8am–8pm ET), recall@example.com"})
    if picture is not None:
        service.publish_web_notice(session, user=hq, recall_id=recall.id, notice_id=notice.id,
                                   now=start + timedelta(hours=3))
    service.add_mailing(session, user=hq, recall_id=recall.id, kind="email", sent_on=(start + timedelta(days=1)).date(),
                        recipients=21400, country="US", description="Registered owners with an e-mail address",
                        now=start + timedelta(days=1))
    service.add_advert(session, user=hq, recall_id=recall.id, image=None, image_name="", now=start + timedelta(days=3),
                       data=service.AdvertInput(paper="Toronto Star", edition="Saturday", region="Ontario", country="CA",
                                                run_on=(start + timedelta(days=3)).date(), size="Quarter page",
                                                cost=None, text_as_run="Product safety recall: EX-15A3 extension cords."))
    for week, (country, repaired_or_replaced) in enumerate([("US", 4200), ("CA", 1900), ("US", 6100), ("US", 3300)]):
        day = start + timedelta(days=2 + 7 * week)
        service.record_progress(session, user=hq, recall_id=recall.id, now=day, data=service.ProgressInput(
            recorded_on=day.date(), country=country, channel="email" if country == "US" else "newspaper",
            located=repaired_or_replaced + 500, notified=repaired_or_replaced + 2000, replaced=repaired_or_replaced))

    service.create_campaign(session, user=division_qa, incident_ids=[fridge.id], now=now, data=service.CampaignInput(
        title="R-HW540 compressor relay: replace relay", remedy="repair",
        description="Relay contacts weld under high load; replacement relay from the second supplier.",
        countries=["JP"], units_affected=48200, target_percent=90, stall_weeks=4, owner_id=division_qa.id))
    session.flush()
