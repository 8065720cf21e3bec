"""Links into pages other features own (the client profile and its edit form).

The registry's endpoint names are not ours to import; if the registry is not installed the case
file itself stands in for the profile, so a link is never broken.
"""

from __future__ import annotations

from flask import url_for
from werkzeug.routing import BuildError

PROFILE_ENDPOINTS = ("registry.profile", "registry.client_profile", "registry.view_client", "registry.show")
EDIT_ENDPOINTS = ("registry.edit", "registry.edit_client", "registry.client_edit")


def _first(endpoints: tuple[str, ...], client_id: int) -> str | None:
    for endpoint in endpoints:
        for key in ("client_id", "id"):
            try:
                return url_for(endpoint, **{key: client_id})
            except BuildError:
                continue
    return None


def client_profile_url(client_id: int) -> str:
    return _first(PROFILE_ENDPOINTS, client_id) or url_for("cases.client_case", client_id=client_id)


def client_edit_url(client_id: int) -> str:
    return _first(EDIT_ENDPOINTS, client_id) or client_profile_url(client_id)
