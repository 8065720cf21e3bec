"""Sign in, sign out, language choice, the role home page, and user administration."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from srs.accounts import services
from srs.accounts.forms import (
    AccountLanguageForm,
    ChangePasswordForm,
    LanguageForm,
    LoginForm,
    PasswordResetForm,
    UserForm,
)
from srs.accounts.models import User
from srs.accounts.throttle import TooManyAttempts
from srs.agencies.models import Agency
from srs.core.access import login_required, public, roles_required
from srs.core.errors import Conflict, ValidationFailed
from srs.core.forms import apply_errors
from srs.core.home import home_sections
from srs.core.pagination import page_args, paginate
from srs.core.transaction import attempt
from srs.extensions import db
from srs.regions.models import Region

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("accounts.home")


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("accounts.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            with attempt():
                user = services.sign_in(form.username.data or "", form.password.data or "", channel="web")
        except TooManyAttempts as exc:
            flash(exc.detail, "error")
            return render_template("accounts/login.html", form=form), 429
        if user is None:
            flash(_("The username or password is not right."), "error")
            return render_template("accounts/login.html", form=form), 200
        if user.role == "partner":
            # A partner system has no pages: it takes a token from POST /api/v1/auth/token.
            flash(
                _("This account belongs to a partner system; it signs in through the API, not here."), "error"
            )
            return render_template("accounts/login.html", form=form), 200
        session.clear()  # a fresh session on sign-in: no fixation
        session.permanent = True
        services.start_login_session(user)
        login_user(user)
        if user.locale:
            session["lang"] = user.locale
        return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    services.end_login_session(current_user._get_current_object())
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/language", methods=["POST"])
@public
def set_language() -> ResponseReturnValue:
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.lang.data
        if current_user.is_authenticated:
            services.set_locale(current_user._get_current_object(), form.lang.data or "")
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/")
@login_required
def home() -> ResponseReturnValue:
    return render_template("accounts/home.html", sections=home_sections(current_user))


# --- the signed-in user's own account ---------------------------------------------------------


def _render_account(
    language_form: AccountLanguageForm | None = None,
    password_form: ChangePasswordForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    user: User = current_user._get_current_object()
    if language_form is None:
        language_form = AccountLanguageForm(locale=user.locale or "")
    return (
        render_template(
            "accounts/account.html",
            language_form_account=language_form,
            password_form=password_form or ChangePasswordForm(),
            sessions=services.active_sessions(user),
            current_session_id=user.current_session_id,
        ),
        status,
    )


@bp.route("/account")
@login_required
def account() -> ResponseReturnValue:
    return _render_account()


@bp.route("/account/language", methods=["POST"])
@login_required
def account_language() -> ResponseReturnValue:
    form = AccountLanguageForm()
    if not form.validate_on_submit():
        return _render_account(language_form=form, status=422)
    services.set_locale(current_user._get_current_object(), form.locale.data or "")
    if form.locale.data:
        session["lang"] = form.locale.data
    else:
        session.pop("lang", None)
    flash(_("Your language was saved."), "success")
    return redirect(url_for("accounts.account"))


@bp.route("/account/password", methods=["POST"])
@login_required
def account_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            with attempt():
                services.change_own_password(
                    current_user._get_current_object(),
                    form.current_password.data or "",
                    form.new_password.data or "",
                    form.confirm_password.data or "",
                )
        except TooManyAttempts as exc:
            apply_errors(form, exc)
            return _render_account(password_form=form, status=429)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(_("Your password was changed; your other sessions were ended."), "success")
            return redirect(url_for("accounts.account"))
    return _render_account(password_form=form, status=422)


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions() -> ResponseReturnValue:
    count = services.end_other_sessions(current_user._get_current_object())
    flash(ngettext("%(num)d other session ended.", "%(num)d other sessions ended.", count), "success")
    return redirect(url_for("accounts.account"))


# --- administration --------------------------------------------------------------------------

admin_bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")


def _fill_choices(form: UserForm) -> None:
    form.regions.choices = [
        (r.code, f"{'— ' * r.depth}{r.name} ({r.code})")
        for r in db.session.scalars(select(Region).order_by(Region.path))
    ]
    form.agency.choices = [("", "—")] + [
        (a.code, a.name) for a in db.session.scalars(select(Agency).order_by(Agency.name))
    ]


def _user_input(form: UserForm, username: str) -> services.UserInput:
    return services.UserInput(
        username=username,
        full_name=form.full_name.data or "",
        email=form.email.data,
        role=form.role.data or "",
        region_codes=list(form.regions.data or []),
        agency_code=form.agency.data or None,
        locale=form.locale.data or None,
        password=form.password.data,
        active=bool(form.active.data),
    )


@admin_bp.route("/")
@roles_required("admin")
def list_users() -> ResponseReturnValue:
    page, per_page = page_args(strict=False)
    role = request.args.get("role") or None
    q = request.args.get("q") or None
    result = paginate(services.list_users(role=role, q=q), page, per_page)
    return render_template("accounts/users.html", page=result, role=role, q=q or "")


@admin_bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def create_user() -> ResponseReturnValue:
    form = UserForm()
    _fill_choices(form)
    if form.validate_on_submit():
        try:
            with attempt():
                user = services.create_user(_user_input(form, form.username.data or ""))
        except (ValidationFailed, Conflict) as exc:
            apply_errors(form, exc)
        else:
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("admin_users.list_users"))
    # Reaching here on a POST means the input was refused: 422, as every other form answers.
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/user_form.html", form=form, user=None), status


@admin_bp.route("/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_user(user_id: int) -> ResponseReturnValue:
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=None if request.method == "POST" else user)
    _fill_choices(form)
    if request.method == "GET":
        form.regions.data = [r.code for r in user.regions]
        form.agency.data = user.agency.code if user.agency else ""
        form.locale.data = user.locale or ""
    form.username.data = user.username
    if form.validate_on_submit():
        if user.id == current_user.id and (form.role.data != "admin" or not form.active.data):
            flash(_("You cannot remove your own administrator access."), "error")
        else:
            try:
                with attempt():
                    services.update_user(user, _user_input(form, user.username))
            except ValidationFailed as exc:
                apply_errors(form, exc)
            else:
                flash(_("User %(name)s saved.", name=user.username), "success")
                return redirect(url_for("admin_users.list_users"))
    return render_template(
        "accounts/user_form.html",
        form=form,
        user=user,
        reset_form=PasswordResetForm(),
        sessions=services.active_sessions(user),
    ), (422 if request.method == "POST" else 200)


@admin_bp.route("/<int:user_id>/sessions/end", methods=["POST"])
@roles_required("admin")
def end_sessions(user_id: int) -> ResponseReturnValue:
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        flash(_("To end your own other sessions, use your account page."), "error")
    else:
        services.end_all_sessions(user)
        flash(_("Every session and API token of %(name)s was ended.", name=user.username), "success")
    return redirect(url_for("admin_users.edit_user", user_id=user.id))


@admin_bp.route("/<int:user_id>/password", methods=["POST"])
@roles_required("admin")
def reset_password(user_id: int) -> ResponseReturnValue:
    user = db.get_or_404(User, user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            with attempt():
                services.reset_password(user, form.password.data or "")
        except ValidationFailed as exc:
            for message in exc.errors.get("password", []):
                flash(message, "error")
        else:
            flash(
                _("The password of %(name)s was reset; their sessions were ended.", name=user.username),
                "success",
            )
    else:
        flash(_("Type a new password."), "error")
    return redirect(url_for("admin_users.edit_user", user_id=user.id))
