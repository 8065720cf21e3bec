"""Indexes the reports need on other features' tables (the aggregates scan them by region and date)."""

from __future__ import annotations

from sqlalchemy import Index

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
)
ix_clients_region_created = Index("ix_clients_region_created", Client.region_id, Client.created_at)
ix_screenings_client_at = Index("ix_screenings_client_screened", Screening.client_id, Screening.screened_at)
