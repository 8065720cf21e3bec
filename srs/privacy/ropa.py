"""The records of processing (UU 27/2022 art. 31; Law 91/2025) and a draft impact assessment of
the screening rules (UU 27/2022 art. 34), generated from the configuration, never written by hand:
the programmes and the fields each shares with its agency, the agencies, the retention settings and
the fields every published rule reads.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from srs.agencies.models import Agency
from srs.extensions import db
from srs.privacy.retention import KINDS
from srs.programmes.fields import FIELDS
from srs.programmes.models import Programme, RuleVersion

PURPOSES = (
    "Registering informal workers and their households at the single window",
    "Screening people for the social protection programmes they may qualify for (automated rules)",
    "Referring people, with their consent, to the agencies that run those programmes",
    "Following up referrals, case files and complaints",
    "Statistics and reports on coverage (aggregate, no names)",
    "Answering partner systems through the DCI Social Registry interface (consented records only)",
)
DATA_CATEGORIES = {
    "identity": ["full_name", "id_type", "id_number", "sex", "date_of_birth"],
    "contact": ["phone", "address"],
    "household": ["household members: name, relationship, sex, birth date, disability, education, pregnancy"],
    "socio-economic": ["occupation", "work_status", "monthly_income", "poverty_status", "welfare_decile"],
    "sensitive (UU 27/2022 art. 4)": ["disability", "pregnant", "ethnic_minority"],
    "programme": ["screenings and their reasons", "referrals", "enrolments", "case notes", "complaints"],
    "consent": ["consent_given", "consent_date", "consent_scope"],
}


def _criteria_fields(node: Any) -> set[str]:
    """Every field a rule's criteria tree names."""
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("field"), str):
            found.add(node["field"])
        for value in node.values():
            found |= _criteria_fields(value)
    elif isinstance(node, list):
        for item in node:
            found |= _criteria_fields(item)
    return found


def retention_rows() -> list[dict[str, Any]]:
    return [
        {
            "kind": kind.key,
            "days": int(current_app.config[kind.setting]),
            "setting": kind.setting,
            "action": kind.action,
        }
        for kind in KINDS
    ]


def records_of_processing() -> dict[str, Any]:
    """The whole record, as the page shows it and the download gives it."""
    programmes = list(db.session.scalars(select(Programme).order_by(Programme.country, Programme.code)))
    agencies = list(db.session.scalars(select(Agency).order_by(Agency.code)))
    recipients = []
    for agency in agencies:
        recipients.append(
            {
                "agency": agency.code,
                "name": agency.name,
                "channel": agency.channel,
                "programmes": [
                    {"code": p.code, "name": p.name_in("en"), "shared_fields": list(p.shared_fields or [])}
                    for p in programmes
                    if p.agency_id == agency.id
                ],
            }
        )
    return {
        "controller": "The ministry running the Single Referral System",
        "purposes": list(PURPOSES),
        "data_categories": DATA_CATEGORIES,
        "data_subjects": ["informal workers registered at the single window", "members of their households"],
        "recipients": recipients,
        "retention": retention_rows(),
        "security": [
            "role- and region-scoped access, every read and change in a hash-chained audit log",
            "ID numbers masked in lists and logs",
            "signed webhooks, outbound guard",
        ],
        "impact_assessment": impact_assessment(programmes),
    }


def impact_assessment(programmes: list[Programme] | None = None) -> dict[str, Any]:
    """A draft assessment of the automated screening: what each published rule reads, how to object."""
    if programmes is None:
        programmes = list(db.session.scalars(select(Programme).order_by(Programme.country, Programme.code)))
    rules = []
    for programme in programmes:
        version = (
            db.session.get(RuleVersion, programme.current_version_id)
            if programme.current_version_id
            else None
        )
        used = sorted(_criteria_fields(version.criteria)) if version is not None else []
        rules.append(
            {
                "programme": programme.code,
                "rule_version": version.number if version is not None else None,
                "fields_used": used,
                "field_labels": [str(FIELDS[f].label) if f in FIELDS else f for f in used],
                "sensitive_fields_used": [
                    f for f in used if f in ("disability", "pregnant", "ethnic_minority")
                ],
            }
        )
    return {
        "status": "draft",
        "processing": "Automated screening of each registered person against every active programme of their "
        "country; the outcome (eligible, not eligible, needs information) with a reason per criterion.",
        "rules": rules,
        "effects": "A screening result is advice to the officer: no referral is made without the officer "
        "and the person's consent, and no benefit is granted or refused by SRS itself.",
        "risks": [
            "a wrong or outdated fact (income, household) leading to a wrong outcome",
            "sensitive facts (disability, pregnancy) used in rules",
            "people without an ID number screened on fewer facts",
        ],
        "safeguards": [
            "each outcome shows the reason per criterion",
            "unknown facts give 'needs information', never a guess",
            "rule versions are published by a supervisor and simulated before publication",
            "any result can be sent to a named person for human review (objection, UU 27/2022 art. 10)",
        ],
        "how_to_object": "At any office: the officer sends the screening result to a named reviewer, who "
        "records a decision with a reason; the profile and the referral show it beside the automated "
        "outcome.",
    }


def as_markdown(record: dict[str, Any]) -> str:
    """The download: the same record as a Markdown document."""
    lines = ["# Records of processing: Single Referral System", "", f"Controller: {record['controller']}", ""]
    lines += ["## Purposes", *[f"- {p}" for p in record["purposes"]], ""]
    lines += ["## Categories of data"]
    lines += [f"- {name}: {', '.join(items)}" for name, items in record["data_categories"].items()]
    lines += ["", "## Recipients"]
    for r in record["recipients"]:
        lines.append(f"- {r['agency']} ({r['name']}), channel {r['channel']}")
        lines += [f"  - {p['code']}: {', '.join(p['shared_fields']) or '-'}" for p in r["programmes"]]
    lines += ["", "## Retention", "| kind | days | action |", "| --- | --- | --- |"]
    lines += [f"| {r['kind']} | {r['days']} | {r['action']} |" for r in record["retention"]]
    dpia = record["impact_assessment"]
    lines += ["", "## Impact assessment of the screening rules (draft)", "", dpia["processing"], ""]
    lines += [
        f"- {r['programme']} v{r['rule_version']}: {', '.join(r['fields_used']) or '-'}"
        for r in dpia["rules"]
    ]
    lines += [
        "",
        "Safeguards:",
        *[f"- {s}" for s in dpia["safeguards"]],
        "",
        f"How to object: {dpia['how_to_object']}",
    ]
    return "\n".join(lines) + "\n"
