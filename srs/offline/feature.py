"""What the offline app adds: the manifest, the service worker, the shells and the device routes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from srs.core.wiring import Feature, NavEntry, Slot
from srs.offline import views

FEATURE = Feature(
    name="offline",
    blueprints=(views.bp,),
    nav=(NavEntry("offline.pending", _l("Offline registrations"), {"officer", "admin"}, order=16),),
    slots=(Slot("client_profile", "offline/_profile_link.html", order=90),),
)
