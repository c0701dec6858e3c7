"""The bulk complaint import (the fast path: one prepared INSERT … ON CONFLICT run over bound tuples) keeps every rule
the one-at-a-time path keeps: duplicates ignored, bad rows reported with their line and reason, safety words flagged,
customer contact data in its own fields, an audit event per batch, and each row stored as the ORM stores it."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import sqlalchemy as sa

from qa_incidents.accounts.models import Division, User
from qa_incidents.complaints import rules, service
from qa_incidents.complaints.models import Complaint
from qa_incidents.core.audit import AuditEvent

HEADER = ("external_id,received_at,model,serial,country,place,channel,kind,symptom,occurred_on,text,customer_name,"
          "customer_contact\n")
ROWS = [
    # line 2: a plain complaint
    "K1,2026-11-18T10:00:00+09:00,R-S38,SN1,JP,Osaka,phone,complaint,NOISE,2026-11-17,Loud hum at night,"
    "Ms Aoki,090-1111-2222\n",
    # line 3: smoke and a burning smell (English, any case)
    'K2,2026-11-18T11:00:00+00:00,EX-15A3,SN2,gb,Leeds,web,complaint,HEAT,,"SMOKE came out, and a Burning smell",'
    "Mr Brown,brown@example.com\n",
    # line 4: Japanese words, matched inside a sentence
    "K3,2026-11-18T12:00:00+09:00,R-S38,SN3,JP,Kobe,phone,complaint,ODOUR,,背面から発煙し焦げ臭いにおいがした,"
    "山田様,06-1234-5678\n",
    # line 5: no received_at
    "K4,,R-S38,SN4,JP,,phone,complaint,NOISE,,Hum,,\n",
    # line 6: the same id as line 2, sent twice in one file
    "K1,2026-11-18T10:00:00+09:00,R-S38,SN1,JP,Osaka,phone,complaint,NOISE,2026-11-17,Loud hum at night,"
    "Ms Aoki,090-1111-2222\n",
    # line 7: a country that is not a two-letter code, and an unknown channel
    "K5,2026-11-18T10:00:00+09:00,R-S38,SN5,Japan,,fax,complaint,NOISE,,Hum,,\n",
    # line 8: a model outside the catalogue (no division given for such models)
    "K6,2026-11-18T10:00:00+09:00,ZZ-404,SN6,JP,,phone,complaint,NOISE,,Hum,,\n",
    # line 9: CO in capitals is carbon monoxide; the text spans two lines of the file
    'K7,2026-11-18T09:00:00-05:00,OH-F33,SN7,US,Ohio,service,repair,CO,,"The CO alarm went off\nnear the heater",'
    "Ms Cole,+1-555-0100\n",
    # line 11 (the text above took two): received in the future
    "K8,2030-01-01T00:00:00+00:00,R-S38,SN8,JP,,phone,complaint,NOISE,,Hum,,\n",
    # line 12: no id of its own: keyed by a hash of its cells
    ",2026-11-19T08:00:00+09:00,R-S38,SN9,JP,Sendai,email,inquiry,DOOR-SEAL,,Door does not close,Mr Sato,sato@example.jp\n",
    # line 13: a time without its UTC offset
    "K9,2026-11-18T10:00:00,R-S38,SN10,JP,,phone,complaint,NOISE,,Hum,,\n",
]
CSV = HEADER + "".join(ROWS)


def _factory(session):  # type: ignore[no-untyped-def]
    return lambda: type(session)(bind=session.get_bind())


def _import(demo, clock, user, batch_size=2):  # type: ignore[no-untyped-def]
    return service.import_complaints(_factory(demo), user_id=user.id, now=clock(), batch_size=batch_size,
                                     rows=service.read_rows(io.StringIO(CSV), source="callcentre"))


def test_the_bulk_import_keeps_every_rule(demo, clock):
    hq = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    first = _import(demo, clock, hq)

    assert first.read == 11
    assert first.inserted == 5  # K1, K2, K3, K7 and the row without an id
    assert first.duplicates == 1  # K1 again, in the same file
    assert first.flagged == 3
    errors = dict(first.errors)
    assert sorted(errors) == [5, 7, 8, 11, 13]
    assert errors[5] == "received_at is missing."
    assert "country: Give the country as a two-letter ISO code." in errors[7]
    assert "channel: Unknown channel." in errors[7]
    assert errors[8] == "Unknown model: not in the product catalogue (give a division for models outside it)."
    assert errors[11] == "received_at: A complaint cannot be received in the future."
    assert errors[13].startswith("received_at needs its UTC offset")

    demo.commit()  # a fresh snapshot
    stored = {c.external_id: c for c in demo.scalars(sa.select(Complaint))}
    hashed = [k for k in stored if k.startswith("sha1:")]
    assert sorted(k for k in stored if not k.startswith("sha1:")) == ["K1", "K2", "K3", "K7"] and len(hashed) == 1

    # Safety words: English in any case, Japanese inside a sentence, CO only in capitals.
    assert (stored["K1"].flagged, stored["K1"].safety_terms) == (False, "")
    assert (stored["K2"].flagged, stored["K2"].safety_terms) == (True, "smoke; burning smell")
    assert (stored["K3"].flagged, stored["K3"].safety_terms) == (True, "発煙; 焦げ臭い")
    assert (stored["K7"].flagged, stored["K7"].safety_terms) == (True, "CO")
    assert stored["K7"].text == "The CO alarm went off\nnear the heater"

    # Customer contact data in fields of its own, never in the customer's words.
    assert (stored["K2"].customer_name, stored["K2"].customer_contact) == ("Mr Brown", "brown@example.com")
    assert (stored["K3"].customer_name, stored["K3"].customer_contact) == ("山田様", "06-1234-5678")
    assert all("@" not in c.text and "090-" not in c.text for c in stored.values())

    # Stored as the ORM stores a complaint: UTC instants, the Monday of the week, the model's division and product.
    ha = demo.scalar(sa.select(Division.id).where(Division.code == "HA"))
    k1 = stored["K1"]
    assert k1.received_at == datetime(2026, 11, 18, 1, 0, tzinfo=UTC)
    assert k1.week_start == date(2026, 11, 16) and k1.occurred_on == date(2026, 11, 17)
    assert k1.division_id == ha and k1.product_id is not None and k1.country == "JP"
    assert stored["K2"].country == "GB" and stored["K2"].division_id != ha
    assert k1.created_by_id == hq.id and k1.created_at == clock() and k1.incident_id is None

    # One audit event per batch, saying what it held.
    events = demo.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "complaint_import")
                          .order_by(AuditEvent.id)).all()
    assert [e.actor_id for e in events] == [hq.id] * 3  # 6 good rows in batches of 2
    assert sum(e.changes["rows"] for e in events) == 6
    assert sum(e.changes["inserted"] for e in events) == 5
    assert sum(e.changes["flagged_in_batch"] for e in events) == 3
    assert {s for e in events for s in e.changes["sources"]} == {"callcentre"}

    # The flagged ones wait for the division's QA at once.
    division_qa = demo.scalar(sa.select(User).where(User.email == "division.qa@example.com"))
    work = service.work_for(demo, user=division_qa)
    assert work is not None and {c.external_id for c in work.flagged} >= {"K3"}

    # The file sent again adds nothing, and reports the same bad lines.
    again = _import(demo, clock, hq, batch_size=1000)
    assert (again.inserted, again.duplicates, again.flagged) == (0, 6, 3)
    assert [line for line, _ in again.errors] == [5, 7, 8, 11, 13]
    demo.commit()
    assert demo.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 5


def test_a_bulk_imported_complaint_is_stored_as_one_logged_through_the_form(demo, clock):
    hq = demo.scalar(sa.select(User).where(User.email == "hq.qa@example.com"))
    row = ("F1,2026-11-18T23:30:00-08:00,R-S38,SN1,US,Reno,web,repair,SPARKS,2026-11-18,"
           "Sparks from the plug; my son got an electric shock,Ms Diaz,+1-555-0199\n")
    result = service.import_complaints(_factory(demo), user_id=hq.id, now=clock(),
                                       rows=service.read_rows(io.StringIO(HEADER + row), source="cc"))
    assert result.inserted == 1
    demo.commit()  # the import wrote from sessions of its own: start from a fresh snapshot
    (_line, parsed), = list(service.read_rows(io.StringIO(HEADER + row.replace("F1,", "F2,", 1)), source="cc"))
    assert isinstance(parsed, rules.ComplaintIn)
    service.log_complaint(demo, user=hq, data=parsed, now=clock())
    demo.commit()
    bulk, single = (demo.scalar(sa.select(Complaint).where(Complaint.external_id == k)) for k in ("F1", "F2"))
    columns = [c.name for c in Complaint.__table__.columns if c.name not in ("id", "external_id")]
    assert {n: getattr(bulk, n) for n in columns} == {n: getattr(single, n) for n in columns}
    # … and in the same stored form (as the database holds it: what its comparisons and indexes see).
    table = Complaint.__table__
    stored = [demo.execute(sa.select(*(sa.cast(table.c[n], sa.Text) for n in columns))
                           .where(table.c.external_id == key)).one() for key in ("F1", "F2")]
    assert stored[0] == stored[1]
    assert bulk.safety_terms == "sparks; electric shock" and bulk.flagged
    assert bulk.received_at == datetime(2026, 11, 19, 7, 30, tzinfo=UTC) and bulk.week_start == date(2026, 11, 16)
