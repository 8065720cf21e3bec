"""What a programme would cost the person: the contribution, what the state pays and what is left.

A rate version (models.RateVersion) holds a scheme's table as data; the calculation for its scheme
reads the table and the person's facts and gives an estimate (shared/API.md ``estimate``). The
explanation is kept as steps (a sentence's key and its figures), not as text, so it is read in the
language of whoever looks at it; ``explain`` makes the sentences. Amounts are whole currency units,
rounded half up at each step the person sees, so the sentences add up.

Services never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from srs.extensions import db
from srs.programmes.fields import Facts
from srs.programmes.models import Enrolment, RateVersion, Screening, ScreeningResult
from srs.programmes.rules import format_decimal, text_of

PERIOD = "month"
VN_GROUPS = ("poor", "near_poor", "ethnic_minority", "other")


def amount(value: Decimal | int | float) -> int:
    """Whole currency units, rounded half up (0.5 dong is paid as 1)."""
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_of(percent: Any, base: int) -> int:
    return amount(Decimal(str(percent)) * base / 100)


# The sentences of an explanation, by key. Figures are given as numbers and formatted for the reader.
SENTENCES: dict[str, Any] = {
    "income_unknown": _l("The income is not known, so the lowest income, %(minimum)s, is used."),
    "income_raised": _l(
        "The income %(income)s is below the lowest income allowed, "
        "so the contribution is counted on %(minimum)s."
    ),
    "income_capped": _l(
        "The income %(income)s is above the highest income allowed, "
        "so the contribution is counted on %(maximum)s."
    ),
    "percent_of": _l("%(percent)s%% of %(base)s = %(result)s a month."),
    "jkk": _l("Work accident cover (JKK): %(percent)s%% of %(base)s = %(result)s a month."),
    "jkm": _l("Death cover (JKM): %(result)s a month."),
    "jht_optional": _l(
        "Old-age savings (JHT) are optional: %(percent)s%% of %(base)s = %(result)s more a month, "
        "%(total)s in all."
    ),
    "jkn_class": _l("Class %(klass)s costs %(price)s per person a month; for %(people)s people, %(result)s."),
    "jkn_state_paid": _l("As a PBI member the state pays all of it."),
    "jkn_self_pay": _l(
        "Paying yourself, class %(klass)s costs you %(member)s per person a month (the state adds %(state)s)."
    ),
    "jkn_state_share": _l("The state pays %(state)s per person = %(result)s."),
    "vn_support": _l(
        "The state pays %(percent)s%% of %(base)s (the contribution on the rural poverty line) = %(result)s "
        "because %(group)s, for at most %(months)s months."
    ),
    "vn_support_open": _l(
        "The state pays %(percent)s%% of %(base)s (the contribution on the rural poverty line) = %(result)s "
        "because %(group)s."
    ),
    "vn_months_used": _l("%(used)s of %(months)s months of state support used."),
    "vn_months_partial": _l(
        "%(used)s of %(months)s months of state support used: the support lasts %(left)s more months, "
        "then you pay all %(contribution)s."
    ),
    "vn_months_used_up": _l(
        "%(used)s of %(months)s months of state support used: the state pays nothing more."
    ),
    "vn_topup": _l("%(region)s adds %(percent)s%% of %(base)s = %(result)s."),
    "vn_support_limited": _l("The support cannot be more than the contribution, so it is %(result)s."),
    "hi_member": _l("Member %(n)s: %(share)s%% of %(first)s = %(result)s."),
    "hi_first": _l("First member: %(percent)s%% of the base salary %(base)s = %(result)s a month."),
    "hi_total": _l("The household of %(people)s pays %(result)s a month in all."),
    "hi_support": _l("The state pays %(percent)s%% = %(result)s because the household is near-poor."),
    "you_pay": _l("You pay %(result)s a month."),
}
GROUP_REASONS: dict[str, Any] = {
    "poor": _l("the household is poor"),
    "near_poor": _l("the household is near-poor"),
    "ethnic_minority": _l("the person belongs to an ethnic minority"),
    "other": _l("everyone gets this support"),
}
# Figures the step keeps as they are (counts, class names, percentages are formatted as numbers too).
_TEXT_ARGS = frozenset({"klass", "region", "group"})


@dataclass
class Estimate:
    """An estimate before it is stored: amounts and the steps of its explanation."""

    currency: str
    contribution: int
    state_support: int
    steps: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def client_pays(self) -> int:
        return self.contribution - self.state_support

    def say(self, key: str, **figures: Any) -> None:
        self.steps.append((key, figures))


def household_size(facts: Facts) -> int:
    """How many people the household counts: its members, else the size given, else the person alone."""
    if facts.members:
        return len(facts.members)
    return max(int(facts.client.household_size or 1), 1)


def support_group(client: Any) -> str:
    """The Viet Nam support group of the person (poor before near-poor before ethnic minority)."""
    if client.poverty_status in ("poor", "near_poor"):
        return str(client.poverty_status)
    if getattr(client, "ethnic_minority", None) is True:
        return "ethnic_minority"
    return "other"


def _declared_income(p: dict[str, Any], income: int | None, e: Estimate) -> int:
    """The income the contribution is counted on: the person's, kept between the table's limits."""
    minimum = int(p.get("min_income") or 0)
    maximum = p.get("max_income")
    if income is None:
        e.say("income_unknown", minimum=minimum)
        return minimum
    if income < minimum:
        e.say("income_raised", income=income, minimum=minimum)
        return minimum
    if maximum is not None and income > int(maximum):
        e.say("income_capped", income=income, maximum=int(maximum))
        return int(maximum)
    return income


def bpjstk_bpu(p: dict[str, Any], facts: Facts, currency: str) -> Estimate:
    """BPJS Ketenagakerjaan BPU: JKK a share of the declared income, JKM a fixed sum, JHT optional."""
    e = Estimate(currency, 0, 0)
    income = _declared_income(p, facts.client.monthly_income, e)
    jkk = percent_of(p["jkk_percent"], income)
    jkm = int(p["jkm_monthly"])
    e.say("jkk", percent=p["jkk_percent"], base=income, result=jkk)
    e.say("jkm", result=jkm)
    e.contribution = jkk + jkm
    if p.get("jht_percent"):
        jht = percent_of(p["jht_percent"], income)
        e.say("jht_optional", percent=p["jht_percent"], base=income, result=jht, total=e.contribution + jht)
    return e


def jkn(p: dict[str, Any], facts: Facts, currency: str) -> Estimate:
    """JKN: a price per person per class for the whole household; PBI members pay nothing."""
    klass = str(p.get("class") or "III")
    price = int(p["classes"][klass])
    people = household_size(facts)
    e = Estimate(currency, price * people, 0)
    e.say("jkn_class", klass=klass, price=price, people=people, result=e.contribution)
    state = int((p.get("state_support") or {}).get(klass) or 0)
    if p.get("state_paid"):
        e.state_support = e.contribution
        e.say("jkn_state_paid")
        if state:
            e.say("jkn_self_pay", klass=klass, member=price - state, state=state)
    elif state:
        e.state_support = state * people
        e.say("jkn_state_share", state=state, result=e.state_support)
    return e


def _topups(p: dict[str, Any], facts: Facts, group: str) -> list[dict[str, Any]]:
    """The provincial top-up rows that apply: the person's region lies under the row's region."""
    region = getattr(facts.client, "region", None)
    codes = set()
    while region is not None:
        codes.add(region.code)
        region = region.parent
    return [
        row
        for row in p.get("topups") or []
        if row.get("group") in (group, "all") and row.get("region") in codes
    ]


def months_of(start: date, end: date) -> set[tuple[int, int]]:
    """The calendar months from ``start`` to ``end`` (both counted, however few days of them)."""
    months = set()
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.add((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


Periods = list[tuple[date, date | None]]


def supported_periods(client_ids: list[int] | Select[Any], on: date) -> dict[int, Periods]:
    """The enrolments (start, end) that began by ``on`` in any programme whose rates give Viet Nam
    voluntary social insurance support (scheme ``vn_voluntary_si``), of these clients (ids, or a
    SELECT of ids for many), in one query; a client without any is not in the answer."""
    supported = select(RateVersion.programme_id).where(RateVersion.scheme == "vn_voluntary_si")
    rows = db.session.execute(
        select(Enrolment.client_id, Enrolment.start_on, Enrolment.end_on).where(
            Enrolment.client_id.in_(client_ids),
            Enrolment.programme_id.in_(supported),
            Enrolment.start_on <= on,
        )
    )
    periods: dict[int, Periods] = {}
    for client_id, start, end in rows:
        periods.setdefault(client_id, []).append((start, end))
    return periods


def supported_months_used(facts: Facts) -> int:
    """How many months of Viet Nam voluntary social insurance support the person has had: the calendar
    months of their recorded enrolments (up to ``facts.on`` for one still open, overlaps counted once)
    in any programme whose rates give that support (scheme ``vn_voluntary_si``). 0 for a person not
    yet saved (a table's trial run). Reads ``facts.supported_periods`` when a caller read them for
    many people at once."""
    periods = facts.supported_periods
    if periods is None:
        client_id = getattr(facts.client, "id", None)
        if not isinstance(client_id, int):
            return 0
        periods = supported_periods([client_id], facts.on).get(client_id, [])
    used: set[tuple[int, int]] = set()
    for start, end in periods:
        used |= months_of(start, min(end or facts.on, facts.on))
    return len(used)


def _support_limit(p: dict[str, Any], facts: Facts, e: Estimate, support: int) -> int:
    """The support once the months already used count (``support_months`` per person; none: no limit)."""
    months = p.get("support_months")
    if not months or not support:
        return support
    limit = int(months)
    used = supported_months_used(facts)
    shown = min(used, limit)
    if used >= limit:
        e.say("vn_months_used_up", used=shown, months=limit)
        return 0
    if used:
        # Part of the limit is used: the support stops after the months left.
        e.say("vn_months_partial", used=used, months=limit, left=limit - used, contribution=e.contribution)
    else:
        e.say("vn_months_used", used=used, months=limit)
    return support


def vn_voluntary_si(p: dict[str, Any], facts: Facts, currency: str) -> Estimate:
    """Viet Nam voluntary social insurance: a share of a chosen income; the state supports a share of
    the contribution on the rural poverty line, by the person's group, plus any provincial top-up."""
    e = Estimate(currency, 0, 0)
    income = _declared_income(p, facts.client.monthly_income, e)
    e.contribution = percent_of(p["percent"], income)
    e.say("percent_of", percent=p["percent"], base=income, result=e.contribution)
    base = percent_of(p["percent"], int(p["min_income"]))
    group = support_group(facts.client)
    share = p.get("support", {}).get(group, 0)
    support = percent_of(share, base)
    if share:
        months = p.get("support_months")
        if months:
            e.say("vn_support", percent=share, base=base, result=support, group=group, months=months)
        else:
            e.say("vn_support_open", percent=share, base=base, result=support, group=group)
    for row in _topups(p, facts, group):
        extra = percent_of(row["percent"], base)
        support += extra
        e.say(
            "vn_topup",
            region=row.get("name") or row["region"],
            percent=row["percent"],
            base=base,
            result=extra,
        )
    if support > e.contribution:
        support = e.contribution
        e.say("vn_support_limited", result=support)
    e.state_support = _support_limit(p, facts, e, support)
    return e


def vn_household_hi(p: dict[str, Any], facts: Facts, currency: str) -> Estimate:
    """Viet Nam household health insurance: the first member a share of the base salary, the next ones
    a falling share of that; near-poor households get the state's support."""
    base = int(p["base_salary"])
    first = percent_of(p["percent"], base)
    shares = list(p["member_shares"])
    people = household_size(facts)
    e = Estimate(currency, 0, 0)
    e.say("hi_first", percent=p["percent"], base=base, result=first)
    total = first
    for n in range(2, people + 1):
        share = shares[min(n - 1, len(shares) - 1)]
        each = percent_of(share, first)
        e.say("hi_member", n=n, share=share, first=first, result=each)
        total += each
    e.contribution = total
    if people > 1:
        e.say("hi_total", people=people, result=total)
    support_percent = (p.get("support") or {}).get(facts.client.poverty_status)
    if support_percent:
        e.state_support = percent_of(support_percent, total)
        e.say("hi_support", percent=support_percent, result=e.state_support)
    return e


SCHEMES: dict[str, Callable[[dict[str, Any], Facts, str], Estimate]] = {
    "bpjstk_bpu": bpjstk_bpu,
    "jkn": jkn,
    "vn_voluntary_si": vn_voluntary_si,
    "vn_household_hi": vn_household_hi,
}


def rates_in_force(programme_ids: list[int], on: date) -> dict[int, RateVersion]:
    """Per programme, the published rate version in force on ``on`` (latest ``effective_from`` on or
    before it; of two on the same date, the higher number)."""
    if not programme_ids:
        return {}
    stmt = (
        select(RateVersion)
        .where(
            RateVersion.programme_id.in_(programme_ids),
            RateVersion.status == "published",
            RateVersion.effective_from <= on,
        )
        .order_by(RateVersion.effective_from, RateVersion.number)
    )
    found: dict[int, RateVersion] = {}
    for version in db.session.scalars(stmt):
        found[version.programme_id] = version  # later rows win
    return found


def estimate_for(version: RateVersion, facts: Facts) -> dict[str, Any]:
    """The stored estimate of ``version``'s table for the person of ``facts``."""
    e = SCHEMES[version.scheme](version.params, facts, version.currency)
    if e.state_support or e.contribution:
        e.say("you_pay", result=e.client_pays)
    return {
        "currency": version.currency,
        "period": PERIOD,
        "contribution": e.contribution,
        "state_support": e.state_support,
        "client_pays": e.client_pays,
        "steps": [[key, figures] for key, figures in e.steps],
        "source": version.source,
        "rate_version": version.number,
        "effective_from": version.effective_from.isoformat(),
    }


def _figure(name: str, value: Any) -> str:
    if name == "group":
        return text_of(GROUP_REASONS.get(value, value))
    if name in _TEXT_ARGS or value is None:
        return str(value)
    return format_decimal(value)


def explain(estimate: dict[str, Any]) -> list[str]:
    """The estimate's sentences in the current language."""
    sentences = []
    for key, figures in estimate.get("steps") or []:
        template = SENTENCES.get(key)
        if template is None:
            continue
        sentences.append(text_of(template) % {k: _figure(k, v) for k, v in figures.items()})
    return sentences


def estimate_as_dict(estimate: dict[str, Any]) -> dict[str, Any]:
    """The API shape (shared/API.md): amounts, the sentences in the request's language, the source,
    and the rate version the figures come from (number and the date it took effect)."""
    return {
        "currency": estimate["currency"],
        "period": estimate["period"],
        "contribution": estimate["contribution"],
        "state_support": estimate["state_support"],
        "client_pays": estimate["client_pays"],
        "explanation": explain(estimate),
        "source": estimate["source"],
        "rate_version": estimate.get("rate_version"),
        "effective_from": estimate.get("effective_from"),
    }


def shown_estimate(client_id: int, programme_id: int, screening_id: int | None) -> dict[str, Any] | None:
    """The estimate the person was shown for the programme: that of the screening named (the one a
    referral comes from), else of their latest screening that gave one; None when none did.

    The stored estimate as it was (its rate version included), with the screening it came from: a
    referral keeps this copy, so a later rate version or screening does not change what it says."""
    stmt = (
        select(ScreeningResult)
        .join(Screening, Screening.id == ScreeningResult.screening_id)
        .where(
            Screening.client_id == client_id,
            ScreeningResult.programme_id == programme_id,
            ScreeningResult.estimate.is_not(None),
        )
        .order_by(
            (Screening.id == (screening_id or 0)).desc(), Screening.screened_at.desc(), Screening.id.desc()
        )
        .limit(1)
    )
    result = db.session.scalars(stmt).first()
    if result is None or not result.estimate:
        return None
    return {**result.estimate, "screening_id": result.screening_id}
