"""Who may call a route: every view declares it, and the access-matrix test reads the declaration."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, redirect, request, url_for
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])

# The people who sign in; login_required means any of them.
ALL_ROLES = frozenset({"officer", "agency_staff", "supervisor", "admin"})
# Partner systems (DCI) sign in through the API only and reach the routes that name them.
KNOWN_ROLES = ALL_ROLES | {"partner"}


def has_role(user: Any, *roles: str) -> bool:
    """Whether ``user`` is signed in with one of ``roles`` (anonymous visitors have none).

    The one place a role is compared: the ``can_*`` policies beside each aggregate
    (``srs/<feature>/policies.py``) call it, and views and templates call the policies.
    """
    return bool(user is not None and user.is_authenticated and getattr(user, "role", None) in roles)


def public(view: F) -> F:
    """Anyone, signed in or not, may call this route."""
    view.srs_access = "public"  # type: ignore[attr-defined]
    return view


def roles_required(*roles: str) -> Callable[[F], F]:
    """Only signed-in users with one of ``roles`` may call the route.

    An anonymous caller is sent to the login page (HTML) or gets 401 (API); a signed-in user of
    another role gets 403.
    """
    unknown = set(roles) - KNOWN_ROLES
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if request.path.startswith("/api/"):
                    abort(401)
                return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
            if not has_role(current_user, *roles):
                abort(403)
            return view(*args, **kwargs)

        wrapper.srs_access = frozenset(roles)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def login_required(view: F) -> F:
    """Any signed-in person (not a partner system)."""
    return roles_required(*ALL_ROLES)(view)


def any_account_required(view: F) -> F:
    """Any signed-in account, partner systems included (their own token, who they are)."""
    return roles_required(*KNOWN_ROLES)(view)
