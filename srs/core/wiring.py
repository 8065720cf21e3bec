"""How a feature joins the app: one description per feature package, registered by create_app.

A feature package declares what it adds in its ``feature.py``: ``FEATURE = Feature(...)`` with its
blueprints, navigation entries, home-page sections, setup-page links, slot templates, timeline
sources, periodic jobs and demo-data steps. ``create_app`` registers each description once; the
registries live on the app (``app.extensions["srs"]``), so two apps in one process (the tests make
many) never share or double them, and nothing is registered by importing a module.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, current_app

from srs.core.queue import JobRef, job_name

Context = Callable[[Any], dict[str, Any]]


@dataclass
class TimelineItem:
    """One line on a client's timeline, as a feature's timeline source returns it."""

    at: datetime
    kind: str  # registration, edit, screening, referral, note, ...
    title: str
    detail: str | None = None
    by: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class NavEntry:
    """A link in the top navigation for users with one of ``roles``."""

    endpoint: str
    label: Any
    roles: Collection[str]
    order: int = 100

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(self.roles))


@dataclass(frozen=True)
class HomeSection:
    """A template on the home page of users with one of ``roles``; ``context(user)`` fills it."""

    roles: Collection[str]
    template: str
    context: Context | None = None
    order: int = 100

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(self.roles))


@dataclass(frozen=True)
class AdminLink:
    """A link on the administrator's setup page."""

    endpoint: str
    label: Any
    order: int = 100


@dataclass(frozen=True)
class Slot:
    """``template`` rendered wherever slot ``name`` appears, when ``when(**context)`` allows."""

    name: str
    template: str
    order: int = 100
    when: Callable[..., bool] | None = None


@dataclass(frozen=True)
class PeriodicJob:
    """The job ``func`` (a job function taking no arguments) every ``every`` seconds.

    ``every`` may name a setting of the app's Config instead (``"REFERRAL_RELAY_SECONDS"``): the
    number is then read from the configuration when the app registers the feature.
    """

    func: JobRef
    every: int | str


@dataclass(frozen=True)
class ScheduledJob:
    """A periodic job with its period settled (what the worker's scheduler runs)."""

    func: str
    every_seconds: int


@dataclass(frozen=True)
class SeedStep:
    """A step of the demo data: ``run(password)`` adds what is missing and returns lines to print."""

    order: int
    run: Callable[[str], list[str]]


@dataclass(frozen=True)
class Hook:
    """``func(**event)`` called, in the caller's transaction, when a lower layer emits ``name``.

    A lower package announces what happened (the registry: a consent withdrawn) without knowing who
    reacts; a feature above registers its reaction here (the referrals cancel what was open).
    """

    name: str
    func: Callable[..., object]  # what it returns is not used
    order: int = 100


@dataclass(frozen=True)
class Feature:
    """Everything one feature package adds to the app."""

    name: str
    blueprints: tuple[Blueprint, ...] = ()
    nav: tuple[NavEntry, ...] = ()
    home_sections: tuple[HomeSection, ...] = ()
    admin_links: tuple[AdminLink, ...] = ()
    slots: tuple[Slot, ...] = ()
    timeline_sources: tuple[Callable[[Any], list[TimelineItem]], ...] = ()
    periodic_jobs: tuple[PeriodicJob, ...] = ()
    seed_steps: tuple[SeedStep, ...] = ()
    template_globals: Mapping[str, Any] = field(default_factory=dict)
    template_filters: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    # The feature's ``can_*`` policies (``srs/<feature>/policies.py``), template globals by their
    # own names, so a page asks ``can_edit_client(current_user, client)`` instead of comparing roles.
    policies: tuple[Callable[..., bool], ...] = ()
    hooks: tuple[Hook, ...] = ()
    # What fits none of the above, done once when the app registers the feature (listeners, say).
    setup: Callable[[Flask], None] | None = None


@dataclass
class Wiring:
    """The app's registries, filled from the features' descriptions (``app.extensions["srs"]``)."""

    features: list[Feature] = field(default_factory=list)
    nav: list[NavEntry] = field(default_factory=list)
    home_sections: list[HomeSection] = field(default_factory=list)
    admin_links: list[AdminLink] = field(default_factory=list)
    slots: dict[str, list[Slot]] = field(default_factory=dict)
    timeline_sources: list[Callable[[Any], list[TimelineItem]]] = field(default_factory=list)
    periodic_jobs: list[ScheduledJob] = field(default_factory=list)
    seed_steps: list[SeedStep] = field(default_factory=list)
    hooks: dict[str, list[Hook]] = field(default_factory=dict)


def register_feature(app: Flask, feature: Feature) -> None:
    """Add ``feature`` to ``app``: its blueprints, template helpers and every registry entry."""
    wiring = app.extensions.setdefault("srs", Wiring())
    if any(known.name == feature.name for known in wiring.features):
        raise ValueError(f"the feature {feature.name!r} is registered twice")
    wiring.features.append(feature)
    for blueprint in feature.blueprints:
        app.register_blueprint(blueprint)
    for name, value in feature.template_globals.items():
        app.add_template_global(value, name)
    for policy in feature.policies:
        if policy.__name__ in app.jinja_env.globals:
            raise ValueError(f"the policy {policy.__name__!r} is registered twice")
        app.add_template_global(policy, policy.__name__)
    for name, function in feature.template_filters.items():
        app.add_template_filter(function, name)
    wiring.nav.extend(feature.nav)
    wiring.nav.sort(key=lambda entry: entry.order)
    wiring.home_sections.extend(feature.home_sections)
    wiring.home_sections.sort(key=lambda section: section.order)
    wiring.admin_links.extend(feature.admin_links)
    wiring.admin_links.sort(key=lambda link: link.order)
    for slot in feature.slots:
        entries = wiring.slots.setdefault(slot.name, [])
        entries.append(slot)
        entries.sort(key=lambda entry: entry.order)
    wiring.timeline_sources.extend(feature.timeline_sources)
    for job in feature.periodic_jobs:
        every = int(app.config[job.every]) if isinstance(job.every, str) else job.every
        wiring.periodic_jobs.append(ScheduledJob(job_name(job.func), every))
    wiring.seed_steps.extend(feature.seed_steps)
    wiring.seed_steps.sort(key=lambda step: step.order)
    for hook in feature.hooks:
        hooks = wiring.hooks.setdefault(hook.name, [])
        hooks.append(hook)
        hooks.sort(key=lambda entry: entry.order)
    if feature.setup is not None:
        feature.setup(app)


def wiring(app: Flask | None = None) -> Wiring:
    """The registries of ``app`` (default: the current app)."""
    target = app if app is not None else current_app
    found: Wiring = target.extensions["srs"]
    return found


def emit(name: str, **event: Any) -> int:
    """Call every hook registered for ``name`` with ``event``, in order; returns how many ran.

    The hooks run in the caller's transaction: what they change commits or rolls back with it.
    """
    hooks = wiring().hooks.get(name, [])
    for hook in hooks:
        hook.func(**event)
    return len(hooks)
