"""Region CSV import: all rows or none, every bad row listed."""

import io

from sqlalchemy import func, select

from srs.extensions import db
from srs.regions.models import Region


def _count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Region))


def _upload(client, text):
    return client.post(
        "/admin/regions/import",
        data={"file": (io.BytesIO(text.encode()), "regions.csv")},
        content_type="multipart/form-data",
    )


def test_good_file_imports_with_parents_in_any_order(app, login_as):
    admin = login_as("admin")
    before = _count(app)
    response = _upload(
        admin,
        "code,name,level,parent_code,country\n"
        "35.16.01.2001,Jatirejo Village,village,35.16.01,ID\n"
        "35.16.01,Jatirejo,district,35.16,ID\n",
    )
    assert response.status_code == 302
    assert _count(app) == before + 2
    with app.app_context():
        village = db.session.scalar(select(Region).where(Region.code == "35.16.01.2001"))
        assert village.path == "ID/35/35.16/35.16.01/35.16.01.2001/"
        assert village.parent.code == "35.16.01"


def test_bad_rows_import_nothing_and_are_all_listed(app, login_as):
    admin = login_as("admin")
    before = _count(app)
    response = _upload(
        admin,
        "code,name,level,parent_code,country\n"
        "35.16.02,Gondang,district,35.16,ID\n"
        "35.16,Duplicate,regency,35,ID\n"
        ",No code,district,35.16,ID\n"
        "35.16.03,Pacet,district,99.99,ID\n"
        "35.16.04,Trawas,district,01,ID\n",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page
    for line in ("<td>3</td>", "<td>4</td>", "<td>5</td>", "<td>6</td>"):
        assert line in page
    assert "already used" in page and "unknown" in page and "another country" in page
    assert _count(app) == before


def test_missing_columns_and_non_utf8(app, login_as):
    admin = login_as("admin")
    assert "Missing columns" in _upload(admin, "code,name\nx,y\n").get_data(as_text=True)
    response = admin.post(
        "/admin/regions/import",
        data={"file": (io.BytesIO("code,name\n\xff\xfe".encode("latin-1")), "r.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "not UTF-8" in response.get_data(as_text=True)
