"""DCI callbacks go through the outbound guard: refused when a partner is saved and when SRS calls back."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from sqlalchemy import select

from srs.dci import transport
from srs.dci.models import DciPartner
from srs.extensions import db
from tests.core.test_outbound import _Server

from .test_admin import _form


@pytest.mark.parametrize(
    "base", ["http://169.254.169.254/latest/", "http://[fd00:ec2::254]/", "http://100.100.100.200/dci/"]
)
def test_a_partner_cannot_be_called_back_at_a_metadata_address(app, login_as, base):
    response = login_as("admin").post("/admin/dci/new", data=_form(callback_bases=base))
    assert response.status_code == 422
    assert "SRS never calls" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(DciPartner).where(DciPartner.name == "SPMIS Kemensos")) is None


def test_in_production_a_private_callback_needs_the_setting(app, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_STRICT", True)
    monkeypatch.setitem(app.config, "PRODUCTION", True)
    response = login_as("admin").post("/admin/dci/new", data=_form(callback_bases="https://10.9.8.7/dci/"))
    assert response.status_code == 422
    assert "SRS_OUTBOUND_ALLOWED_NETWORKS" in response.get_data(as_text=True)


def test_a_callback_is_checked_again_when_it_is_sent(app_ctx, monkeypatch):
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "partner.example.org":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", int(port)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(transport.CallbackError, match="outbound guard.*169.254.169.254"):
        transport.post_json("https://partner.example.org/dci/on-search", {"x": 1}, timeout=2)


def test_a_callback_redirect_is_not_followed(app_ctx):
    target = _Server(200)
    redirector = _Server(307, location=target.url)
    try:
        with pytest.raises(transport.CallbackError, match="307"):
            transport.post_json(redirector.url, {"x": 1}, timeout=5)
        assert redirector.hits == ["POST /hook"] and target.hits == []
    finally:
        target.close()
        redirector.close()
