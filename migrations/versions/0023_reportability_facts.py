"""Reportability: the facts each regime needs, and per-regime assessments.

Adds to each incident the most serious care an injured person received (`injury_care`) and six yes/no facts other
than harm (a malfunction that could cause death or serious injury if it recurred, a suspected defect or
noncompliance, a labelling or instructions problem, a recall or corrective action in another country, a lawsuit, a
choking incident); adds to each product the countries it is sold in (`markets`).

Existing incidents keep everything entered. Their "serious injuries" count was defined as Japan's serious injury
(30 days' treatment or more, or lasting disability), so an incident with serious injuries gets the care
"30 days' treatment or more" (the least that count stated); minor injuries did not say whether a doctor or nurse
treated them, so their care stays "not stated" (the regimes that turn on it then ask for a decision rather than
guess). The six new facts start as "no" (not stated before); the product's markets start empty.

The obligations whose law reaches events abroad through the product's markets are marked so (FDA MDRs, CCPSA s.14,
MDR FSCAs, Health Canada medical device problem reports). The obligations whose field lists are still the ones the
starting map gave before it listed each authority's form item by item (Japan's Form 1, 16 CFR 1115.13(d), FDA
Form 3500A and 806.10(c), the EU MIR form, ...) get the new items; a list an administrator changed stays theirs
(`laws.seed.form_items_update`; `seed demo` does the same, audited).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

CARE = ("not_stated", "none", "first_aid", "doctor_or_nurse", "hospitalised", "thirty_days", "lasting_disability",
        "life_threatening")
FLAGS = ("recurrence_risk", "suspected_defect", "labelling_problem", "foreign_action", "lawsuit", "choking")
MARKET_REGIMES = ("US-FDA-803-30", "US-FDA-803-5", "CA-CCPSA-14-2", "CA-CCPSA-14-3")


def upgrade() -> None:
    # Plain ADD COLUMN with a constant default (SQLite and PostgreSQL alike): the table is not copied, and the
    # triggers that name it stay valid.
    op.add_column("incident", sa.Column("injury_care", sa.Enum(*CARE, name="care", native_enum=False, length=32),
                                        nullable=False, server_default="not_stated"))
    for name in FLAGS:
        op.add_column("incident", sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("product", sa.Column("markets", sa.Text(), nullable=False, server_default=sa.text("''")))
    op.execute(sa.text("UPDATE incident SET injury_care = 'thirty_days' WHERE serious_injuries > 0"))
    obligation = sa.table("obligation", sa.column("regime_code", sa.String), sa.column("applies_to_markets", sa.Boolean))
    op.execute(obligation.update().where(obligation.c.regime_code.in_(MARKET_REGIMES)).values(applies_to_markets=True))
    _form_items()


def _form_items() -> None:
    from qa_incidents.laws.seed import form_items_update

    obligation = sa.table("obligation", sa.column("id", sa.Integer), sa.column("regime_code", sa.String),
                          sa.column("required_fields", sa.JSON))
    bind = op.get_bind()
    for row in bind.execute(sa.select(obligation.c.id, obligation.c.regime_code, obligation.c.required_fields)).all():
        new = form_items_update(row.regime_code, row.required_fields)
        if new is not None:
            bind.execute(obligation.update().where(obligation.c.id == row.id).values(required_fields=new))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+ and PostgreSQL): no table copy.
    op.execute(sa.text("ALTER TABLE product DROP COLUMN markets"))
    for name in (*reversed(FLAGS), "injury_care"):
        op.execute(sa.text(f"ALTER TABLE incident DROP COLUMN {name}"))
