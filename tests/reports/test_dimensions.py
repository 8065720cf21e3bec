"""The dashboard's demographic filters come from the client fields' table (srs/registry/fields.py)."""

from __future__ import annotations

import dataclasses

import pytest
from flask_babel import lazy_gettext as _l

from srs.registry import fields
from srs.reports.filters import FilterError, Filters, dimension_filters, fact_column, param_of, parse_filters
from srs.reports.models import CLIENT_DEMOGRAPHICS, CoverageFact, ReferralFact, ScreeningFact


def test_every_report_dimension_is_a_filter_and_a_column_of_the_facts():
    filter_names = {f.name for f in dataclasses.fields(Filters)}
    dimensions = fields.report_dimensions()
    assert [f.name for f in dimensions] == ["sex", "date_of_birth", "work_status", "disability"]
    for f in dimensions:
        assert param_of(f) in filter_names
        column = fact_column(f)  # a birth date is kept as its year
        assert column in CLIENT_DEMOGRAPHICS
        assert column in ScreeningFact.__table__.c and column in ReferralFact.__table__.c
        assert column in CoverageFact.__table__.c
    assert "date_of_birth" not in {
        c.name for m in (ScreeningFact, ReferralFact, CoverageFact) for c in m.__table__.c
    }


def test_the_filter_form_and_its_checks_read_the_table(app, monkeypatch):
    retired = (("retired", _l("Retired")),)
    table = tuple(
        dataclasses.replace(f, choices=f.choices + retired) if f.name == "work_status" else f
        for f in fields.CLIENT_FIELDS
    )
    with app.test_request_context():
        with pytest.raises(FilterError) as refused:
            parse_filters({"work_status": "retired"})
        assert refused.value.errors == {"work_status": ["Choose one of the work statuses."]}
        monkeypatch.setattr(
            fields,
            "CLIENT_FIELDS",
            tuple(
                dataclasses.replace(f, report=dataclasses.replace(f.report, values=f.report.values + retired))
                if f.name == "work_status"
                else f
                for f in table
            ),
        )
        args = parse_filters({"work_status": "retired", "disability": "no"}).as_args()
        assert (args["work_status"], args["disability"]) == ("retired", "no")
        work = next(d for d in dimension_filters() if d["param"] == "work_status")
        assert ("retired", retired[0][1]) in work["options"]
        assert [d["param"] for d in dimension_filters()] == ["sex", "age_group", "work_status", "disability"]
