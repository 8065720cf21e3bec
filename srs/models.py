"""Imports every model so that Alembic and create_all() see the whole schema."""

from srs.accounts.models import ApiToken, LoginSession, User, user_regions  # noqa: F401
from srs.core.models import AuditEntry  # noqa: F401
from srs.core.workdays import PublicHoliday  # noqa: F401
from srs.programmes.models import Agency, Programme, RuleVersion, Screening, ScreeningResult  # noqa: F401
from srs.referrals.models import Delivery, OutboxMessage, Referral, ReferralEvent  # noqa: F401
from srs.regions.models import Region  # noqa: F401
from srs.registry.models import (  # noqa: F401
    Client,
    DuplicateCandidate,
    Household,
    HouseholdMember,
    ImportBatch,
)
