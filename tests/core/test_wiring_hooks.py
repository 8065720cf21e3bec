"""Hooks: a lower layer emits an event, the features above that registered for it react, in order."""

from __future__ import annotations

from flask import Flask

from srs.core.wiring import Feature, Hook, emit, register_feature


def test_emit_calls_the_registered_hooks_in_order_and_only_for_their_event():
    app = Flask(__name__)
    seen: list[tuple[str, int]] = []
    register_feature(
        app, Feature(name="late", hooks=(Hook("thing.done", lambda n: seen.append(("late", n)), 20),))
    )
    register_feature(
        app,
        Feature(
            name="early",
            hooks=(
                Hook("thing.done", lambda n: seen.append(("early", n)), 10),
                Hook("other", lambda n: seen.append(("other", n))),
            ),
        ),
    )
    with app.app_context():
        assert emit("thing.done", n=7) == 2
        assert emit("nobody.listens", n=1) == 0
    assert seen == [("early", 7), ("late", 7)]


def test_the_referrals_listen_for_a_withdrawn_consent(app):
    from srs.referrals.services import on_consent_withdrawn
    from srs.registry.consent import CONSENT_WITHDRAWN

    with app.app_context():
        from srs.core.wiring import wiring

        assert [h.func for h in wiring().hooks[CONSENT_WITHDRAWN]] == [on_consent_withdrawn]
