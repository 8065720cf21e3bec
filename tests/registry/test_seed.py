"""The demo seed: hundreds of clients with valid ID numbers, households and duplicates to review."""

from __future__ import annotations

from sqlalchemy import func, select

from srs.extensions import db
from srs.registry.idnumbers import check_id_number
from srs.registry.models import Client, DuplicateCandidate, Household, HouseholdMember
from srs.registry.seed import seed_clients


def test_seed_creates_valid_clients_once(app, demo):
    with app.test_request_context():
        lines = seed_clients("x")
        db.session.commit()
        clients = db.session.scalars(select(Client)).all()
        assert len(clients) >= 200, lines
        for c in clients:
            if c.id_type != "none":
                assert check_id_number(c.id_type, c.id_number, c.date_of_birth, c.sex) == []
        assert {c.region.country for c in clients} == {"ID", "VN"}
        assert db.session.scalar(select(func.count()).select_from(Household)) >= 20
        assert db.session.scalar(select(func.count()).select_from(DuplicateCandidate)) >= 3
        # Every demo reviewer has some: the Jawa Timur supervisor, and the admin for Viet Nam.
        duplicated = [
            db.session.get(Client, d.client_id).region for d in db.session.scalars(select(DuplicateCandidate))
        ]
        assert sum(r.code.startswith("35.") for r in duplicated) >= 2
        assert sum(r.country == "VN" for r in duplicated) >= 1
        # A household's registered members agree on its size, which counts at least everyone recorded.
        for household in db.session.scalars(select(Household)):
            members = db.session.scalars(
                select(HouseholdMember).where(HouseholdMember.household_id == household.id)
            ).all()
            sizes = {db.session.get(Client, m.client_id).household_size for m in members if m.client_id}
            assert len(sizes) == 1 and sizes.pop() >= len(members), household.id
        assert seed_clients("x") == ["Clients: already present, none added."]
