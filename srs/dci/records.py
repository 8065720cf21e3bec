"""Clients and households as DCI records (Member and Group), with only the fields a partner may see.

Each builder returns the record and the ids of the clients whose data it carries, so the caller can
write one audit entry per person shared.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from srs.core.iso import iso
from srs.dci.vocabulary import RECORD_ID_TYPE
from srs.extensions import db
from srs.registry.models import Client, Household, HouseholdMember

# SRS's household relationships in the spec's RelationshipTypeEnum codes.
RELATIONSHIPS = {
    "head": "SELF",
    "spouse": "SPS",
    "child": "CHILD",
    "parent": "PRN",
    "sibling": "SIB",
    "grandchild": "GRNDCHILD",
    "other_relative": "FAMMEMB",
    "other": "FAMMEMB",
}


def _identifier(kind: str, value: str) -> dict[str, str]:
    return {"@type": "Identifier", "identifier_type": kind, "identifier_value": value}


def member_record(client: Client, fields: set[str], relationship: str | None = None) -> dict[str, Any]:
    """A registered client as a DCI Member, with the record fields in ``fields``."""
    identifiers = [_identifier("SRS_CLIENT_ID", str(client.id))]
    person: dict[str, Any] = {"@type": "SRPerson"}
    if "identifiers" in fields and client.id_number and client.id_type in RECORD_ID_TYPE:
        national = _identifier(RECORD_ID_TYPE[client.id_type], client.id_number)
        identifiers.append(national)
        person["identifier"] = [national]
    if "name" in fields:
        # SRS keeps a name as one text: Indonesian names often have no surname to split off.
        person["name"] = {"@type": "Name", "given_name": client.full_name}
    if "sex" in fields:
        person["sex"] = client.sex
    if "birth_date" in fields:
        person["birth_date"] = client.date_of_birth.isoformat() if client.date_of_birth else None
    if "address" in fields:
        region = client.region
        person["address"] = {
            "@type": "Address",
            "street_address": client.address,
            "region_code": region.code if region else None,
            "region_name": region.name if region else None,
            "country": region.country if region else None,
        }
    if "phone_number" in fields:
        person["phone_number"] = client.phone
    record: dict[str, Any] = {
        "@type": "Member",
        "@id": f"urn:srs:client:{client.id}",
        "member_identifier": identifiers,
        "demographic_info": person,
        "registration_date": iso(client.created_at),
        "last_updated": iso(client.updated_at),
    }
    if "is_disabled" in fields:
        record["is_disabled"] = client.disability
    if "employment" in fields:
        record["employment_status"] = client.work_status
        record["occupation"] = client.occupation
    if "poverty" in fields:
        record["poverty_status"] = None if client.poverty_status == "unknown" else client.poverty_status
        record["poverty_score"] = client.welfare_decile
        record["poverty_score_type"] = "welfare-decile"
    if "income" in fields:
        record["income_level"] = client.monthly_income
    if "enrolments" in fields:
        record["programme_identifier"] = list(client.enrolments or [])
    if relationship is not None and "household" in fields:
        record["relationship_head"] = RELATIONSHIPS.get(relationship, "FAMMEMB")
    return record


def _unregistered_member(member: HouseholdMember, fields: set[str]) -> dict[str, Any]:
    """A household member without a client record of their own: only what the household gave."""
    person: dict[str, Any] = {"@type": "SRPerson"}
    if "sex" in fields:
        person["sex"] = member.sex
    if "birth_date" in fields:
        person["birth_date"] = member.date_of_birth.isoformat() if member.date_of_birth else None
    record: dict[str, Any] = {"@type": "Member", "demographic_info": person}
    record["relationship_head"] = RELATIONSHIPS.get(member.relationship_to_head, "FAMMEMB")
    if "is_disabled" in fields:
        record["is_disabled"] = member.disability
    return record


def group_record(household: Household, fields: set[str]) -> tuple[dict[str, Any], list[int]]:
    """A household as a DCI Group; members with a record of their own appear only with their consent."""
    shared: list[int] = []
    members: list[dict[str, Any]] = []
    head: dict[str, Any] | None = None
    head_client: Client | None = None
    for member in household.members:
        client = member.client
        if client is not None and client.consent_given and client.merged_into_id is None:
            record = member_record(client, fields, member.relationship_to_head)
            shared.append(client.id)
        else:
            record = _unregistered_member(member, fields)
        if member.relationship_to_head == "head":
            head, head_client = record, client
        if "household" in fields or member.relationship_to_head == "head":
            members.append(record)
    group: dict[str, Any] = {
        "@type": "Group",
        "@id": f"urn:srs:household:{household.id}",
        "group_identifier": [_identifier("HOUSEHOLD_ID", str(household.id))],
        "group_type": "household",
        "group_size": len(household.members),
        "registration_date": iso(household.created_at),
    }
    if head is not None and head_client is not None and head_client.id in shared:
        group["group_head_info"] = head
        if "poverty" in fields:
            group["poverty_score"] = head_client.welfare_decile
            group["poverty_score_type"] = "welfare-decile"
    if "address" in fields:
        region = household.region
        group["place"] = {"@type": "Place", "address": household.address}
        group["location"] = region.code if region else None
    group["member_list"] = members
    return group, shared


def load_clients(ids: Iterable[int]) -> list[Client]:
    """Clients by id, in the order given, with what their records read loaded in one go."""
    ids = list(ids)
    if not ids:
        return []
    rows = db.session.scalars(select(Client).where(Client.id.in_(ids)).options(selectinload(Client.region)))
    by_id = {c.id: c for c in rows}
    return [by_id[i] for i in ids if i in by_id]


def load_households(ids: Iterable[int]) -> list[Household]:
    ids = list(ids)
    if not ids:
        return []
    rows = db.session.scalars(
        select(Household)
        .where(Household.id.in_(ids))
        .options(
            selectinload(Household.region),
            selectinload(Household.members).selectinload(HouseholdMember.client).selectinload(Client.region),
        )
    )
    by_id = {h.id: h for h in rows}
    return [by_id[i] for i in ids if i in by_id]
