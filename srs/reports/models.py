"""Indexes the reports need on other features' tables, and the facts table the dashboard counts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Double, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from srs.core import clock
from srs.core.models import UTCDateTime
from srs.extensions import Model
from srs.programmes.models import Screening
from srs.referrals.models import Referral
from srs.registry.models import Client

# Dashboard counts filter by region and period: these let PostgreSQL answer from the index alone.
ix_referrals_region_created = Index(
    "ix_referrals_region_created",
    Referral.region_id,
    Referral.created_at,
    Referral.status,
    Referral.programme_id,
    # PostgreSQL answers the dashboard's referral figures from this index alone (index-only scans).
    postgresql_include=["outcome", "client_id", "decided_at"],
)
# Partial on clients not merged away, so counting registrations is an index-only scan.
_ACTIVE = text("merged_into_id IS NULL")
# Not wider: with the demographic columns included PostgreSQL stopped using it for an admin's
# count over all regions (a bitmap scan of the clients instead, 100 -> 226 ms in the benchmark).
ix_clients_region_created = Index(
    "ix_clients_active_region_created",
    Client.region_id,
    Client.created_at,
    postgresql_where=_ACTIVE,
    sqlite_where=_ACTIVE,
)
# The birth year, never the exact date: every age in the reports is the age reached during the
# calendar year (srs/reports/ages.py), so an erasure, which keeps the year, moves no figure.
CLIENT_DEMOGRAPHICS = ["sex", "work_status", "disability", "birth_year"]
ix_screenings_client_at = Index("ix_screenings_client_screened", Screening.client_id, Screening.screened_at)
# Open referrals are a small share of all: a partial index finds the overdue ones of a region
# (the dashboard's count and its drill-down list, in due order) without touching the closed ones.
_OPEN = text("status IN ('pending', 'delivered', 'accepted')")
ix_referrals_open_region_due = Index(
    "ix_referrals_open_region_due",
    Referral.region_id,
    Referral.due_at,
    postgresql_where=_OPEN,
    sqlite_where=_OPEN,
)


class ScreeningFact(Model):
    """What the dashboard counts about one screening, kept in step with the records by ``facts.py``.

    One row per screening with ``programme_id`` 0 (any programme) and one per screening result (that
    programme). ``prev_at`` / ``prev_eligible_at`` are the client's previous (eligible) screening before
    this one, so "clients screened in a period" is a plain count of the rows in the period whose
    previous one falls before it: each client counted once, without a DISTINCT over all clients.
    ``gaps`` counts, on the client's latest screening, the programmes it found them eligible for and
    they were never referred to (on a programme's row: 1 or 0); older screenings have 0.
    Client attributes are copied so the filters need no join; merged clients have no rows.
    """

    __tablename__ = "report_screening_facts"
    __table_args__ = (
        Index(
            "ix_report_screening_facts_scan",
            "programme_id",
            "region_id",
            "screened_at",
            postgresql_include=["prev_at", "prev_eligible_at", "eligible", "gaps"],
        ),
    )

    screening_id: Mapped[int] = mapped_column(
        ForeignKey("screenings.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    programme_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    client_id: Mapped[int] = mapped_column(index=True)
    region_id: Mapped[int] = mapped_column()
    screened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    eligible: Mapped[bool] = mapped_column()
    prev_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    prev_eligible_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gaps: Mapped[int] = mapped_column()
    sex: Mapped[str] = mapped_column(String(10))
    birth_year: Mapped[int] = mapped_column()
    work_status: Mapped[str | None] = mapped_column(String(20))
    disability: Mapped[bool | None] = mapped_column()


class ReferralFact(Model):
    """What the dashboard counts about one referral, kept in step with the records by ``facts.py``.

    One row per referral, with the referral's region, programme, status and creation time, whether it
    was completed successfully, and the time to the agency's decision (``decision_seconds``, the same
    value PostgreSQL's ``extract(epoch from decided_at - created_at)`` gives, so the median read from
    these rows equals ``percentile_cont`` over the records). ``prev_at`` / ``prev_programme_at`` are the
    client's previous referral (to any programme / to the same programme), so "clients referred in a
    period" is a plain count of the rows in the period whose previous one falls before it. That holds
    under a region filter only when all the client's referrals are in one region: ``multi_region``
    marks the others, which the dashboard counts with a DISTINCT (they are few).
    Client attributes are copied so the demographic filters need no join.
    """

    __tablename__ = "report_referral_facts"
    __table_args__ = (
        # A supervisor's regions and period: one range scan, answered from the index alone.
        Index(
            "ix_report_referral_facts_region_created",
            "region_id",
            "created_at",
            postgresql_include=[
                "programme_id",
                "status",
                "successful",
                "decision_seconds",
                "prev_at",
                "prev_programme_at",
                "next_at",
                "next_programme_at",
                "multi_region",
                *CLIENT_DEMOGRAPHICS,
            ],
        ),
        # An admin's period over every region: the same, without a region to lead with.
        Index(
            "ix_report_referral_facts_created",
            "created_at",
            postgresql_include=[
                "region_id",
                "programme_id",
                "status",
                "successful",
                "decision_seconds",
                "prev_at",
                "prev_programme_at",
                "next_at",
                "next_programme_at",
                "multi_region",
                *CLIENT_DEMOGRAPHICS,
            ],
        ),
        # The median's exact middle values: the referrals of one day-wide bucket of decision times.
        Index(
            "ix_report_referral_facts_decision",
            "decision_seconds",
            postgresql_include=["region_id", "created_at", "programme_id", *CLIENT_DEMOGRAPHICS],
            postgresql_where=text("decision_seconds IS NOT NULL"),
        ),
        # Overdue referrals (open, past their due time) with any filter, from the index alone; the
        # status tells the two overdue measures apart (``referrals.overdue``).
        Index(
            "ix_report_referral_facts_open_due",
            "region_id",
            "due_at",
            postgresql_include=["programme_id", "status", *CLIENT_DEMOGRAPHICS],
            postgresql_where=_OPEN,
            sqlite_where=_OPEN,
        ),
        # Clients referred in more than one region are counted with a DISTINCT over these rows only.
        Index(
            "ix_report_referral_facts_multi_region",
            "created_at",
            postgresql_include=["region_id", "programme_id", "client_id"],
            postgresql_where=text("multi_region"),
            sqlite_where=text("multi_region"),
        ),
    )

    # No foreign key: a referral deleted must leave its fact row until the flush's listener has
    # counted it out of the monthly summaries (a cascade would remove it unseen).
    referral_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    client_id: Mapped[int] = mapped_column(index=True)
    region_id: Mapped[int] = mapped_column()
    programme_id: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    successful: Mapped[bool] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_seconds: Mapped[float | None] = mapped_column(Double)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    prev_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    prev_programme_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The client's next referral (to any programme / the same one): the monthly summaries' count of
    # clients referred needs it when a period starts inside a month (see services._referral_figures).
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_programme_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    multi_region: Mapped[bool] = mapped_column()
    sex: Mapped[str] = mapped_column(String(10))
    birth_year: Mapped[int] = mapped_column()
    work_status: Mapped[str | None] = mapped_column(String(20))
    disability: Mapped[bool | None] = mapped_column()


# ---------------------------------------------------------------------------------------------
# Monthly summaries of the referral facts. The dashboard reads whole months of a period from these
# (a few thousand rows) and only the partial months at its edges from the facts. They are kept by
# signed increments in ``facts.py``: a client's old fact rows are subtracted and the new ones added,
# in the transaction that changed the records. ``month`` is the calendar month as yyyymm, in the
# configured time zone on PostgreSQL and in UTC on SQLite (as each dialect's monthly trend counts).


class ReferralMonth(Model):
    """Referrals created in a month, per region, programme, status and the client's sex."""

    __tablename__ = "report_referral_months"

    month: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    region_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    programme_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(12), primary_key=True)
    sex: Mapped[str] = mapped_column(String(10), primary_key=True)
    referrals: Mapped[int] = mapped_column()
    successful: Mapped[int] = mapped_column()


class ReferralMonthDecision(Model):
    """Decided referrals created in a month, per whole day to the decision: the median's histogram."""

    __tablename__ = "report_referral_month_decisions"

    month: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    region_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    programme_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sex: Mapped[str] = mapped_column(String(10), primary_key=True)
    day: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    referrals: Mapped[int] = mapped_column()


class ReferralMonthFirst(Model):
    """Referrals created in a month by the month of the client's previous referral (0: none before),
    to any programme (``same_programme`` false) or to the same one: clients referred in whole months
    [a, b] are the referrals created in them whose previous one is before a. Clients referred in more
    than one region (``multi_region`` facts) are left out, as in the facts' count."""

    __tablename__ = "report_referral_month_firsts"

    same_programme: Mapped[bool] = mapped_column(primary_key=True)
    month: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    prev_month: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    region_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    programme_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sex: Mapped[str] = mapped_column(String(10), primary_key=True)
    referrals: Mapped[int] = mapped_column()


# ---------------------------------------------------------------------------------------------
# Coverage (SDG 1.3.1): who is covered among the registered, and the population to compare with.

# The registration row of a client in ``report_coverage_facts`` (its programme and function).
REGISTRATION = ""


class CoverageFact(Model):
    """What the coverage figures count, kept in step with clients and enrolments by ``coverage_facts``.

    One row per client not merged away with ``function`` "" (REGISTRATION; ``start_on`` the day of
    registration, ``programme_id`` 0), and one per enrolment and function of its programme (the
    enrolment's dates, whether the programme is contributory). Client attributes are copied so the
    filters and breakdowns need no join.
    """

    __tablename__ = "report_coverage_facts"
    __table_args__ = (
        Index("ix_report_coverage_facts_scan", "function", "region_id", "start_on"),
        Index("ix_report_coverage_facts_client", "client_id", "function"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column()
    programme_id: Mapped[int] = mapped_column()
    function: Mapped[str] = mapped_column(String(20))
    contributory: Mapped[bool] = mapped_column()
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)
    region_id: Mapped[int] = mapped_column()
    sex: Mapped[str] = mapped_column(String(10))
    birth_year: Mapped[int] = mapped_column()
    work_status: Mapped[str | None] = mapped_column(String(20))
    disability: Mapped[bool | None] = mapped_column()
    poverty_status: Mapped[str] = mapped_column(String(12))


POPULATION_AGE_GROUPS = ("0-14", "15-64", "65+")


class PopulationFigure(Model):
    """A reference denominator an admin imported: a district's population of one sex and age group in
    one year, from a named source (BPS, GSO...), with the optional poor population, births and people
    with disabilities of that group."""

    __tablename__ = "population_figures"
    __table_args__ = (
        UniqueConstraint("region_id", "sex", "age_group", "year", name="uq_population_figures_group"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), index=True)
    sex: Mapped[str] = mapped_column(String(10))
    age_group: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column()
    source: Mapped[str] = mapped_column(String(200))
    population: Mapped[int] = mapped_column(BigInteger)
    poor: Mapped[int | None] = mapped_column(BigInteger)
    births: Mapped[int | None] = mapped_column(BigInteger)
    disabled: Mapped[int | None] = mapped_column(BigInteger)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
