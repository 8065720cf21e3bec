"""Links into pages the registry owns (the client profile and its edit form)."""

from __future__ import annotations

from flask import url_for


def client_profile_url(client_id: int) -> str:
    return url_for("registry.profile", client_id=client_id)


def client_edit_url(client_id: int) -> str:
    return url_for("registry.edit", client_id=client_id)
