"""Indexes the reports need on other features' tables (the aggregates scan them by region and date)."""

from __future__ import annotations

from sqlalchemy import Index, text

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
ix_clients_region_created = Index("ix_clients_region_created", Client.region_id, Client.created_at)
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
