"""The features of SRS, lowest layer first (docs/architecture.md); create_app registers each one.

Each feature package describes what it adds in its own ``feature.py`` (``FEATURE``, a
srs.core.wiring.Feature). A new feature adds its line here, and nothing anywhere else.
"""

from __future__ import annotations

from srs.core.wiring import Feature


def all_features() -> list[Feature]:
    """Every feature's description (imported here, when the app is built, not when srs is imported)."""
    from srs.accounts.feature import FEATURE as accounts
    from srs.agencies.feature import FEATURE as agencies
    from srs.api.feature import FEATURE as api
    from srs.cases.feature import FEATURE as cases
    from srs.core.feature import FEATURE as core
    from srs.dci.feature import FEATURE as dci
    from srs.privacy.feature import FEATURE as privacy
    from srs.programmes.feature import FEATURE as programmes
    from srs.referrals.feature import FEATURE as referrals
    from srs.regions.feature import FEATURE as regions
    from srs.registry.feature import FEATURE as registry
    from srs.reports.feature import FEATURE as reports

    return [
        core,
        regions,
        agencies,
        accounts,
        registry,
        programmes,
        referrals,
        cases,
        reports,
        privacy,
        dci,
        api,
    ]
