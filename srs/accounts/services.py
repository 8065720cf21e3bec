"""Accounts: authentication, login sessions, API tokens and user administration."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import joinedload

from srs.accounts import throttle
from srs.accounts.models import REGIONAL_ROLES, ROLES, ApiToken, LoginSession, User
from srs.accounts.passwords import (
    MIN_PASSWORD_LENGTH,
    dummy_verify,
    hash_password,
    needs_rehash,
    verify_password,
)
from srs.agencies.models import Agency
from srs.core import audit, clock
from srs.core.errors import Conflict, ValidationFailed
from srs.core.lengths import check_length
from srs.core.transaction import after_transaction, changed_rows
from srs.extensions import db
from srs.regions.models import Region


def find_user(username: str) -> User | None:
    """The user with this username (case-insensitive), or None."""
    return db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def authenticate(username: str, password: str) -> User | None:
    """The active user whose password matches, or None; unknown names cost the same time."""
    return _check_credentials(username, password)[0]


def _check_credentials(username: str, password: str) -> tuple[User | None, User | None]:
    """(the signed-in user or None, the account the name belongs to or None)."""
    user = find_user(username) if username else None
    if user is None:
        dummy_verify(password)
        return None, None
    if not verify_password(user.password_hash, password) or not user.active:
        return None, user
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user, user


def sign_in(username: str, password: str, *, channel: str) -> User | None:
    """Check a sign-in against the attempt budgets; the user, or None for a wrong name or password.

    The attempt is counted before the password is checked and given back when it was right
    (srs.accounts.throttle); raises TooManyAttempts when the budget is spent. A failure is written
    to the audit log in its own transaction, so the refused request's rollback keeps it.
    """
    attempt = throttle.take_password_check(username, request.remote_addr, channel=channel)
    user, account = _check_credentials(username, password)
    if user is None:
        audit.record_security(
            "login.failed",
            "user",
            account.id if account is not None else None,
            attempted_username=username.strip()[:80],
            channel=channel,
            reason="inactive" if account is not None and not account.active else "credentials",
        )
        return None
    attempt.refund()
    return user


def start_login_session(user: User) -> LoginSession:
    """Open a browser session for ``user``; its id goes into the signed cookie."""
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
    now = clock.now()
    login_session = LoginSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        ip_address=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:300],
    )
    db.session.add(login_session)
    user.current_session_id = login_session.id
    user.last_login_at = now
    audit.record("login", "user", user.id, user=user)
    return login_session


# "Last seen" and "last used" are written at most this often per session or token: a page load
# that fetches ten resources costs no write, and the idle timeout is exact to this much.
ACTIVITY_WRITE_INTERVAL = timedelta(minutes=1)


def idle_limit() -> timedelta:
    """How long a browser session may go unused before it ends (``SRS_SESSION_IDLE_MINUTES``)."""
    return timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


def load_session_user(cookie_id: str) -> User | None:
    """The user behind a session cookie, if that login session is still open (and not idle)."""
    try:
        user_id_text, session_id = cookie_id.split(":", 1)
        user_id = int(user_id_text)
    except ValueError:
        return None
    if not session_id:
        return None
    login_session = db.session.get(LoginSession, session_id)
    now = clock.now()
    if (
        login_session is None
        or login_session.user_id != user_id
        or login_session.revoked_at is not None
        or login_session.expires_at <= now
        or login_session.last_seen_at + idle_limit() <= now
    ):
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return None
    user.current_session_id = session_id
    if now - login_session.last_seen_at >= ACTIVITY_WRITE_INTERVAL:
        _note_activity(LoginSession.__table__, LoginSession.last_seen_at, session_id, now)
    return user


def _note_activity(table: Any, column: Any, key: Any, now: datetime) -> None:
    """Write ``column`` = now once the request's transaction has ended, in a transaction of its own.

    Its own transaction, so that a request answered with an error still counts as activity, and no
    row lock is held while the request runs; the condition keeps parallel requests to one write.
    """
    threshold = now - ACTIVITY_WRITE_INTERVAL
    statement = (
        update(table)
        .where(table.c.id == key, or_(column.is_(None), column < threshold))
        .values({column.key: now})
    )

    def write() -> None:
        with db.engine.begin() as conn:
            conn.execute(statement)

    after_transaction(write)


def end_login_session(user: User) -> None:
    """Revoke the session in use, so its cookie is refused from now on."""
    if user.current_session_id:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.id == user.current_session_id)
            .values(revoked_at=clock.now())
        )
    audit.record("logout", "user", user.id, user=user)


def revoke_all_access(user: User) -> None:
    """End every browser session and API token of ``user`` (deactivation, password reset)."""
    now = clock.now()
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class IssuedToken:
    token: str
    expires_at: datetime
    user: User


def issue_token(user: User) -> IssuedToken:
    """Create an API token; only its hash is stored, the plain token is shown once."""
    token = secrets.token_urlsafe(32)
    expires_at = clock.now() + timedelta(hours=current_app.config["API_TOKEN_HOURS"])
    db.session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), expires_at=expires_at))
    audit.record("api_token.issue", "user", user.id, user=user)
    return IssuedToken(token=token, expires_at=expires_at, user=user)


def user_for_token(token: str) -> User | None:
    """The active user behind an unexpired, unrevoked token, or None.

    One statement: the token, its user and the user's regions (which every scoped request reads)."""
    stmt = (
        select(ApiToken)
        .where(ApiToken.token_hash == _token_hash(token))
        .options(joinedload(ApiToken.user).joinedload(User.regions))
    )
    api_token = db.session.scalars(stmt).unique().first()
    now = clock.now()
    if api_token is None or api_token.revoked_at is not None or api_token.expires_at <= now:
        return None
    user = api_token.user
    if not user.active:
        return None
    user.current_session_id = None
    if api_token.last_used_at is None or now - api_token.last_used_at >= ACTIVITY_WRITE_INTERVAL:
        _note_activity(ApiToken.__table__, ApiToken.last_used_at, api_token.id, now)
    return user


def revoke_token(token: str) -> bool:
    """Revoke one token; True when it was valid."""
    api_token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if api_token is None or api_token.revoked_at is not None:
        return False
    api_token.revoked_at = clock.now()
    audit.record("api_token.revoke", "user", api_token.user_id)
    return True


# --- user administration -------------------------------------------------------------------


@dataclass
class UserInput:
    username: str
    full_name: str
    email: str | None
    role: str
    region_codes: list[str]
    agency_code: str | None
    locale: str | None = None
    password: str | None = None
    active: bool = True


def _check_password(password: str, errors: dict[str, list[str]]) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.setdefault("password", []).append(
            _("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
        )


def _resolve(data: UserInput, errors: dict[str, list[str]]) -> tuple[list[Region], Agency | None]:
    if data.role not in ROLES:
        errors.setdefault("role", []).append(_("Choose one of the roles."))
    regions: list[Region] = []
    if data.region_codes:
        regions = list(db.session.scalars(select(Region).where(Region.code.in_(data.region_codes))))
        missing = set(data.region_codes) - {r.code for r in regions}
        if missing:
            errors.setdefault("regions", []).append(
                _("Unknown region codes: %(codes)s", codes=", ".join(sorted(missing)))
            )
    if data.role in REGIONAL_ROLES and not data.region_codes:
        errors.setdefault("regions", []).append(_("Officers and supervisors need at least one region."))
    agency = None
    if data.role == "agency_staff":
        if not data.agency_code:
            errors.setdefault("agency", []).append(_("Agency staff must belong to an agency."))
        else:
            agency = db.session.scalar(select(Agency).where(Agency.code == data.agency_code))
            if agency is None:
                errors.setdefault("agency", []).append(_("Unknown agency."))
    check_length((data.full_name or "").strip(), User.full_name, "full_name", errors)
    check_length((data.email or "").strip(), User.email, "email", errors)
    if data.locale and data.locale not in current_app.config["LANGUAGES"]:
        # Stored in a short column and put in the session at sign-in: only a language the app speaks.
        errors.setdefault("locale", []).append(_("Choose one of the languages."))
    if data.role not in REGIONAL_ROLES:
        regions = []
    if data.role != "agency_staff":
        agency = None
    return regions, agency


def create_user(data: UserInput) -> User:
    """Create a user; raises ValidationFailed or Conflict (the username is taken)."""
    errors: dict[str, list[str]] = {}
    username = data.username.strip()
    if not username:
        errors.setdefault("username", []).append(_("A username is required."))
    elif not check_length(username, User.username, "username", errors):
        pass
    elif find_user(username) is not None:
        raise Conflict(
            _("The username %(name)s is taken.", name=username), {"username": [_("Already taken.")]}
        )
    _check_password(data.password or "", errors)
    regions, agency = _resolve(data, errors)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    user = User(
        username=username,
        full_name=data.full_name.strip(),
        email=(data.email or "").strip() or None,
        role=data.role,
        agency=agency,
        regions=regions,
        locale=data.locale or None,
        active=data.active,
        password_hash=hash_password(data.password or ""),
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", user.id, role=user.role, regions=[r.code for r in regions])
    return user


def update_user(user: User, data: UserInput) -> User:
    """Change a user's details, role, regions or agency; deactivating ends all their sessions."""
    errors: dict[str, list[str]] = {}
    regions, agency = _resolve(data, errors)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    before = {"role": user.role, "regions": [r.code for r in user.regions], "active": user.active}
    user.full_name = data.full_name.strip()
    user.email = (data.email or "").strip() or None
    user.role = data.role
    user.regions = regions
    user.agency = agency
    user.locale = data.locale or None
    if user.active and not data.active:
        revoke_all_access(user)
    user.active = data.active
    after = {"role": user.role, "regions": [r.code for r in regions], "active": user.active}
    audit.record("user.update", "user", user.id, before=before, after=after)
    return user


def reset_password(user: User, new_password: str) -> None:
    """Set a new password and end every session and token of the user."""
    errors: dict[str, list[str]] = {}
    _check_password(new_password, errors)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    user.password_hash = hash_password(new_password)
    revoke_all_access(user)
    audit.record("user.reset_password", "user", user.id)


def set_locale(user: User, locale: str) -> None:
    """Remember the user's language; an empty value means "follow the browser"."""
    user.locale = locale or None


def active_sessions(user: User) -> list[LoginSession]:
    """The user's browser sessions that are still open (not ended, expired or idle), newest first."""
    now = clock.now()
    return list(
        db.session.scalars(
            select(LoginSession)
            .where(
                LoginSession.user_id == user.id,
                LoginSession.revoked_at.is_(None),
                LoginSession.expires_at > now,
                LoginSession.last_seen_at > now - idle_limit(),
            )
            .order_by(LoginSession.created_at.desc())
        )
    )


def end_other_sessions(user: User) -> int:
    """End the user's browser sessions except the one in use (API tokens stay); returns how many."""
    ended = changed_rows(
        update(LoginSession)
        .where(
            LoginSession.user_id == user.id,
            LoginSession.revoked_at.is_(None),
            LoginSession.id != (user.current_session_id or ""),
        )
        .values(revoked_at=clock.now())
    )
    audit.record("user.end_other_sessions", "user", user.id, sessions=ended)
    return ended


def end_all_sessions(user: User) -> None:
    """An administrator ends every session and API token of ``user`` (a lost phone, a leaver)."""
    revoke_all_access(user)
    audit.record("user.end_sessions", "user", user.id)


def change_own_password(user: User, current: str, new: str, confirm: str) -> None:
    """The user sets a new password; other sessions and API tokens end, the one in use stays open."""
    errors: dict[str, list[str]] = {}
    # The current password is a password check like a sign-in: the same budget, counted first.
    attempt = throttle.take_password_check(
        user.username, request.remote_addr, channel="password_change", field_name="current_password"
    )
    if verify_password(user.password_hash, current):
        attempt.refund()
    else:
        audit.record_security("password.check_failed", "user", user.id, user=user)
        errors["current_password"] = [_("This is not your current password.")]
    _check_password(new, errors)
    if "password" in errors:
        errors["new_password"] = errors.pop("password")
    if new != confirm:
        errors["confirm_password"] = [_("The two new passwords are not the same.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    user.password_hash = hash_password(new)
    audit.record("user.change_password", "user", user.id)
    end_other_sessions(user)
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def list_users(role: str | None = None, q: str | None = None) -> Select[User]:
    """The users, by username, optionally of one role and matching ``q`` in username or full name."""
    stmt = select(User).order_by(User.username)
    if role:
        stmt = stmt.where(User.role == role)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(func.lower(User.username).like(like) | func.lower(User.full_name).like(like))
    return stmt
