"""An agency's webhook address goes through the outbound guard when it is saved (form and YAML import)."""

from __future__ import annotations

import io
import socket
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from srs.agencies.models import Agency
from srs.extensions import db

from .test_catalogue_admin import agency_form

SECRET = "s" * 24


def _webhook(url: str) -> dict[str, str]:
    return agency_form(channel="webhook", webhook_url=url, webhook_secret=SECRET)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://0.0.0.0:8080/",
    ],
)
def test_admin_cannot_point_an_agency_at_a_metadata_address(app, login_as, url):
    admin = login_as("admin")
    response = admin.post("/admin/agencies/new", data=_webhook(url))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "SRS never calls" in html and "cloud-metadata" in html
    assert f'value="{url}"' in html  # what was typed stays in the field
    with app.app_context():
        assert db.session.scalar(select(Agency).where(Agency.code == "DINSOS-MJK")) is None


def test_an_existing_agency_cannot_be_changed_to_a_metadata_address(app, login_as):
    admin = login_as("admin")
    with app.app_context():
        bpjstk = db.session.scalar(select(Agency).where(Agency.code == "BPJSTK"))
        agency_id, before = bpjstk.id, bpjstk.webhook_url
    response = admin.post(
        f"/admin/agencies/{agency_id}",
        data=_webhook("http://169.254.169.254/latest/meta-data/") | {"code": "BPJSTK", "name": "BPJS"},
    )
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Agency, agency_id).webhook_url == before


def test_a_name_resolving_to_a_metadata_address_is_refused_when_saved(app, login_as, monkeypatch):
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hook.agency.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    response = login_as("admin").post("/admin/agencies/new", data=_webhook("https://hook.agency.example/srs"))
    assert response.status_code == 422
    assert "169.254.169.254" in response.get_data(as_text=True)


def test_in_production_plain_http_and_private_networks_are_refused(app, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOUND_STRICT", True)
    admin = login_as("admin")
    plain = admin.post("/admin/agencies/new", data=_webhook("http://203.0.113.10/srs"))
    assert plain.status_code == 422 and "https:// addresses only" in plain.get_data(as_text=True)
    private = admin.post("/admin/agencies/new", data=_webhook("https://10.20.30.40/srs"))
    assert private.status_code == 422
    assert "SRS_OUTBOUND_ALLOWED_NETWORKS" in private.get_data(as_text=True)
    from srs.core.outbound import parse_networks

    monkeypatch.setitem(app.config, "OUTBOUND_ALLOWED_NETWORKS", parse_networks("10.20.0.0/16"))
    allowed = admin.post("/admin/agencies/new", data=_webhook("https://10.20.30.40/srs"))
    assert allowed.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Agency.webhook_url).where(Agency.code == "DINSOS-MJK")) == (
            "https://10.20.30.40/srs"
        )


@pytest.mark.parametrize("role", ["officer", "supervisor", "agency_staff"])
def test_only_admins_reach_the_agency_form(app, login_as, role):
    response = login_as(role).post("/admin/agencies/new", data=_webhook("http://169.254.169.254/"))
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(Agency).where(Agency.code == "DINSOS-MJK")) is None


def test_yaml_import_refuses_a_metadata_webhook(app, login_as):
    admin = login_as("admin")
    data = yaml.safe_load(admin.get("/admin/catalogue.yaml").get_data(as_text=True))
    data["agencies"][0].update(
        channel="webhook", webhook_url="http://169.254.169.254/latest/meta-data/", webhook_secret=SECRET
    )
    response = admin.post(
        "/admin/catalogue/import",
        data={"file": (io.BytesIO(yaml.safe_dump(data).encode()), "c.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "agencies[0].webhook_url" in html and "SRS never calls" in html
    with app.app_context():
        assert db.session.scalar(
            select(Agency.webhook_url).where(Agency.code == data["agencies"][0]["code"])
        ) != ("http://169.254.169.254/latest/meta-data/")
