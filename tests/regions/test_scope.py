"""Access scoping: a region covers everything below it, and nothing beside it."""

from sqlalchemy import select

from srs.accounts.models import User
from srs.extensions import db
from srs.regions import scope
from srs.regions.models import Region


def _user(name):
    return db.session.scalar(select(User).where(User.username == name))


def _region(code):
    return db.session.scalar(select(Region).where(Region.code == code))


def test_officer_sees_own_district_and_below_only(app_ctx, demo):
    officer = _user("officer.id1")  # Kabupaten Mojokerto
    assert scope.region_in_scope(_region("35.16"), officer)
    assert scope.region_in_scope(_region("35.16.08.2003"), officer)
    assert not scope.region_in_scope(_region("35.76"), officer)  # Kota Mojokerto
    assert not scope.region_in_scope(_region("35"), officer)  # the province above
    assert not scope.region_in_scope(_region("00070"), officer)


def test_supervisor_covers_the_province(app_ctx, demo):
    supervisor = _user("supervisor.id")
    codes = {r.code for r in scope.scoped_regions(supervisor)}
    assert {"35", "35.16", "35.76", "35.76.02.1001"} <= codes
    assert not codes & {"34", "01", "00070"}


def test_sql_condition_matches_python_check(app_ctx, demo):
    for name in ("officer.id1", "officer.id2", "officer.vn1", "supervisor.id", "admin", "agency.bpjstk"):
        user = _user(name)
        in_sql = set(
            db.session.scalars(select(Region.code).where(scope.region_id_condition(Region.id, user)))
        )
        in_python = {r.code for r in db.session.scalars(select(Region)) if scope.region_in_scope(r, user)}
        assert in_sql == in_python, name
    assert (
        set(
            db.session.scalars(
                select(Region.code).where(scope.region_id_condition(Region.id, _user("agency.bpjstk")))
            )
        )
        == set()
    )


def test_codes_with_like_wildcards_do_not_widen_scope(app_ctx, demo):
    # A code containing "_" or "%" must match literally, not as a LIKE wildcard.
    from srs.regions.services import add_region

    parent = _region("35")
    add_region("35_x", "Odd", "regency", "ID", parent)
    db.session.flush()
    officer = _user("officer.id1")
    assert not scope.region_in_scope(_region("35_x"), officer)
