"""Imports every model so that Alembic and create_all() see the whole schema."""

import srs.reports.models  # noqa: F401,E402  (indexes on the referral and client tables)
from srs.accounts.models import ApiToken, LoginSession, User, user_regions  # noqa: F401
from srs.agencies.models import Agency  # noqa: F401
from srs.cases.models import Case, CaseNote, Complaint, ComplaintCategory, FollowUpTask, PlanGoal  # noqa: F401
from srs.core.idempotency import IdempotencyKey  # noqa: F401
from srs.core.models import AuditEntry  # noqa: F401
from srs.core.workdays import PublicHoliday  # noqa: F401
from srs.dci.models import (  # noqa: F401
    CivilEvent,
    DciChange,
    DciOutbox,
    DciPartner,
    DciSubscription,
    DciTransaction,
    NationalRegistry,
    RegistryCheck,
)
from srs.privacy.models import (  # noqa: F401
    Breach,
    DataSubjectRequest,
    Erasure,
    HumanReview,
    LegalHold,
    LegalPeriod,
)
from srs.programmes.models import (  # noqa: F401
    EligibilityNotice,
    Programme,
    RescreenRun,
    RuleVersion,
    Screening,
    ScreeningResult,
)
from srs.referrals.models import Delivery, OutboxMessage, Referral, ReferralEvent  # noqa: F401
from srs.regions.models import Region  # noqa: F401
from srs.registry.models import (  # noqa: F401
    Client,
    ConsentRecord,
    DuplicateCandidate,
    Household,
    HouseholdMember,
    ImportBatch,
)
