"""The region tree's walks: the ancestors in one query, the district read from the path."""

from __future__ import annotations

from sqlalchemy import event, select

from srs.extensions import db
from srs.regions import services
from srs.regions.models import Region


def test_the_district_path_is_the_district_of_every_region(app_ctx, demo):
    regions = list(db.session.scalars(select(Region)))
    assert any(r.depth >= 2 for r in regions)
    for region in regions:
        assert services.district_path(region) == services.district_of(region).path, region.code


def test_the_ancestors_of_a_region_come_in_one_query_top_down(app_ctx, demo):
    code = db.session.scalar(select(Region.code).where(Region.depth == 3).limit(1))
    db.session.expunge_all()
    region = db.session.scalar(select(Region).where(Region.code == code))
    seen: list[str] = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        chain = services.ancestors(region)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(seen) == 1
    assert [r.depth for r in chain] == [0, 1, 2, 3]
    assert chain[-1] is region
    assert all(child.parent_id == parent.id for parent, child in zip(chain, chain[1:], strict=False))
