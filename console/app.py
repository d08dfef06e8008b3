"""The clinic console's web pages, mounted by web/serve.py at /staff.

Signed out, every /staff URL leads to the sign-in page. Sessions are Flask's signed
cookie (HttpOnly, SameSite=Lax, Secure over https, sent only to /staff), managed by
Flask-Login; every form carries a Flask-WTF CSRF token and a post without a valid one
is refused with 400. Wrong passwords make further attempts wait, per user and per
address (console/accounts.py). Every change is written to the audit log.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse
from wtforms import BooleanField, HiddenField, PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from console.accounts import MAX_PASSWORD, StaffStore
from console.faqs import CHANGED_SINCE, FaqEditor, faq_counts, lines
from console.inbox import CachedEmbed, Embed, Inbox, InboxGroup, Outcome, minilm_embed
from console.insights import Figures, csv_text, figures, parse_period
from console.retraining import RETRAINER, Retrainer
from console.retraining import bp as retraining_pages
from core.settings import PROJECT, apply_offline_env
from retrain.errors import UserError
from retrain.project import Project, load_env
from retrain.questions import read_conversations
from retrain.trainingdata import OUT_OF_SCOPE

logger = logging.getLogger("console")

PREFIX = "/staff"
SESSION_HOURS = 8
STORE = "console.store"
CSP = "console.csp"
INBOX = "console.inbox"
FAQS = "console.faqs"
# The largest groups of unanswered questions the Insights page shows.
INSIGHTS_GROUPS = 10
# The most a box of questions may hold (each question is checked by the engine as well).
MAX_QUESTIONS_TEXT = 20000
MAX_ANSWER_TEXT = 4000
# The sign-in page answers these without a session; everything else needs one.
OPEN_ENDPOINTS = {"console.sign_in"}


class StaffSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the Secure flag whenever the request came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure over https (directly, or through a proxy the WSGI server trusts)."""
        return request.is_secure or bool(app.config.get("SESSION_COOKIE_SECURE"))


@dataclass
class Staff(UserMixin):
    """A signed-in member of staff. The session id changes when the password does."""

    name: str
    stamp: str

    def get_id(self) -> str:
        """What the session keeps: the name and when the password was last set."""
        return f"{self.name}:{self.stamp}"


class SignInForm(FlaskForm):
    """User name and password."""

    username = StringField("Username", validators=[InputRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=MAX_PASSWORD)])
    submit = SubmitField("Sign in")


class SignOutForm(FlaskForm):
    """A button (and its CSRF token)."""

    submit = SubmitField("Sign out")


class GroupForm(FlaskForm):
    """An action on one inbox group (dismiss, must go to the phone)."""

    group = HiddenField("Questions", validators=[InputRequired(), Length(max=64)])


class TeachForm(GroupForm):
    """Give an inbox group to an FAQ (the name is checked by the engine, as the CLI does)."""

    faq = StringField("FAQ name", validators=[InputRequired(), Length(max=100)])


class ButtonForm(FlaskForm):
    """A button with nothing but its CSRF token (undo, bring back)."""


class VersionedForm(FlaskForm):
    """A change to the FAQs, with the version of the data the page showed."""

    version = HiddenField("Page version", validators=[InputRequired(), Length(max=64)])


class QuestionsForm(VersionedForm):
    """Questions to add to an FAQ, one a line."""

    questions = TextAreaField("New questions, one a line", validators=[Length(max=MAX_QUESTIONS_TEXT)])
    test = BooleanField("Add them as test questions (never trained on)")


class RemoveForm(VersionedForm):
    """Questions ticked for removal (the `question` check boxes)."""

    test = BooleanField("Test questions")


class AnswerForm(VersionedForm):
    """An FAQ's answer, checked against the clinic's page, saved or only checked."""

    answer = TextAreaField("Answer", validators=[Length(max=MAX_ANSWER_TEXT)])
    confirm = BooleanField("I have checked: save it anyway")


class NewFaqForm(AnswerForm):
    """A new FAQ."""

    key = StringField("Name", validators=[Length(max=100)])
    examples = TextAreaField("Example questions, one a line", validators=[Length(max=MAX_QUESTIONS_TEXT)])
    tests = TextAreaField(
        "Test questions, one a line (optional)", validators=[Length(max=MAX_QUESTIONS_TEXT)]
    )


bp = Blueprint("console", __name__, url_prefix=PREFIX, template_folder="templates")
# The Retrain page (console/retraining.py), behind the same sign-in and headers.
bp.register_blueprint(retraining_pages)


def store() -> StaffStore:
    """The accounts, audit log and throttle of this app."""
    return current_app.extensions[STORE]


def who() -> str:
    """The audit log's name for the signed-in member of staff."""
    return str(current_user.name)


def inbox() -> Inbox:
    """The inbox of this app's project."""
    return current_app.extensions[INBOX]


def faqs() -> FaqEditor:
    """The FAQs of this app's project."""
    return current_app.extensions[FAQS]


def install(
    app: Flask, staff: StaffStore, csp: str, project: Optional[Project] = None, embed: Embed = minilm_embed
) -> None:
    """Mount the console on `app`: sessions, sign-in, CSRF protection, the /staff pages.

    The inbox works on `project` (default: this one), with the settings of its `.env`
    applied as `make run` applies them (the tracker store in endpoints.yml needs them).
    """
    apply_offline_env()  # before the inbox first imports Rasa and the encoder: nothing downloaded
    project = project or Project(PROJECT)
    load_env(project.root)
    app.extensions[STORE] = staff
    app.extensions[CSP] = csp
    app.extensions[INBOX] = Inbox(project, staff, embed)
    app.extensions[FAQS] = FaqEditor(project, staff, CachedEmbed(embed))
    app.extensions[RETRAINER] = Retrainer(project, staff)
    app.config.update(
        SECRET_KEY=staff.secret_key(),
        SESSION_COOKIE_NAME="clinic_staff",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH=PREFIX,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the session
    )
    app.session_interface = StaffSessions()
    CSRFProtect(app)
    logins = LoginManager(app)
    logins.user_loader(load_staff)
    logins.unauthorized_handler(to_sign_in)
    app.register_blueprint(bp)
    app.register_error_handler(CSRFError, refused_form)
    app.register_error_handler(RequestEntityTooLarge, too_large)


def load_staff(session_id: str) -> Optional[Staff]:
    """The member of staff of a session, while the account exists with the same password."""
    name, _, stamp = session_id.partition(":")
    current = store().password_stamp(name)
    return Staff(name, stamp) if current is not None and current == stamp else None


def to_sign_in() -> BaseResponse:
    """Signed out: off to the sign-in page, coming back here afterwards."""
    return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))


def safe_next(target: Optional[str]) -> str:
    """Where to go after signing in: a console path, never another site."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX + "/") or "\\" in (target or ""):
        return url_for("console.home")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def refused_form(error: CSRFError) -> Tuple[str, int]:
    """A form posted without a valid CSRF token: refused, nothing changed."""
    logger.warning(
        "Refused a form without a valid CSRF token from %s: %s", request.remote_addr, error.description
    )
    return render_template("console/refused.html", reason=error.description), HTTPStatus.BAD_REQUEST


def too_large(error: RequestEntityTooLarge) -> Tuple[str, int]:
    """A form far larger than any answer or list of questions: refused, nothing changed."""
    if not request.path.startswith(PREFIX + "/"):
        return "Request too large\n", HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    logger.warning("Refused a %s byte form from %s", request.content_length, request.remote_addr)
    # A page of its own: the console's templates read the form, which is what is too large.
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Too long · Clinic console'
        '</title><link rel="stylesheet" href="/static/console.css"></head><body><main>'
        "<h1>That was too long</h1><p>Nothing was changed: what you sent is far longer than any "
        "answer or list of questions. Go back and shorten it.</p>"
        f'<p><a href="{url_for("console.home")}">Back to the console</a></p></main></body></html>'
    )
    return page, HTTPStatus.REQUEST_ENTITY_TOO_LARGE


@bp.before_request
def require_sign_in() -> Optional[BaseResponse]:
    """Every console page but the sign-in page needs a signed-in member of staff."""
    if request.endpoint not in OPEN_ENDPOINTS and not current_user.is_authenticated:
        return to_sign_in()
    return None


@bp.after_request
def console_headers(response: Response) -> Response:
    """The site's CSP with forms allowed to post to the console; nothing cached."""
    response.headers["Content-Security-Policy"] = current_app.extensions[CSP]
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_filter("when")
def when(timestamp: float) -> str:
    """A time as staff read it."""
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


@bp.route("/signin", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    """The sign-in page; a right password signs in, a wrong one counts towards a wait."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = SignInForm()
    if not form.validate_on_submit():
        status = HTTPStatus.BAD_REQUEST if request.method == "POST" else HTTPStatus.OK
        return render_template("console/signin.html", form=form), status
    name = form.username.data.strip().lower()
    keys = (f"user:{name}", f"address:{request.remote_addr}")
    wait = store().wait_seconds(keys)
    if wait > 0:
        seconds = math.ceil(wait)
        page = render_template(
            "console/signin.html", form=form,
            error=f"Too many wrong passwords. Wait {seconds} seconds, then try again.",
        )
        return page, HTTPStatus.TOO_MANY_REQUESTS, {"Retry-After": str(seconds)}
    if not store().verify(name, form.password.data):
        store().failed(keys)
        logger.warning("Wrong password for %r from %s", name, request.remote_addr)
        page = render_template("console/signin.html", form=form, error="Wrong username or password.")
        return page, HTTPStatus.FORBIDDEN
    store().succeeded(keys[0])
    session.clear()
    login_user(Staff(name, store().password_stamp(name) or ""))
    session.permanent = True
    store().audit(name, "signed in", request.remote_addr or "")
    return redirect(safe_next(request.args.get("next")))


@bp.route("/signout", methods=["POST"])
def sign_out() -> BaseResponse:
    """End the session."""
    store().audit(who(), "signed out")
    logout_user()
    session.clear()
    return redirect(url_for("console.sign_in"))


@bp.route("/")
def home() -> str:
    """The console's start page: what there is to do, and the latest changes."""
    return render_template("console/home.html", changes=store().audit_log(limit=20))


def inbox_page(
    error: str = "", status: int = HTTPStatus.OK, form: Optional[FlaskForm] = None
) -> Tuple[str, int]:
    """The inbox, with an error message when an action was refused."""
    problem = error
    try:
        groups, faqs = inbox().view()
    except UserError as failure:
        groups, faqs, problem = [], [], "\n".join(filter(None, [error, str(failure)]))
    return render_template(
        "console/inbox.html", groups=groups, faqs=faqs, error=problem,
        last_change=inbox().last_change(), dismissed_any=bool(store().dismissed()),
        form=form or ButtonForm(),
    ), status


@bp.route("/inbox")
def inbox_view() -> Tuple[str, int]:
    """The handed-off questions, grouped, newest first, with one click for each group."""
    return inbox_page()


def _act(form: FlaskForm, action: Callable[[], Outcome]) -> Tuple[str, int] | BaseResponse:
    """Run an inbox action: on success back to the inbox with what it did; else the reason."""
    if not form.validate_on_submit():
        problems = "; ".join(
            f"{form[name].label.text}: {', '.join(errors)}" for name, errors in form.errors.items()
        )
        return inbox_page(f"Nothing was changed: {problems}.", HTTPStatus.BAD_REQUEST)
    try:
        outcome = action()
    except UserError as error:
        return inbox_page(str(error), HTTPStatus.CONFLICT)
    flash(outcome.message, "done")
    for refused in outcome.refused:
        flash(f"Not taught: {refused}", "refused")
    return redirect(url_for("console.inbox_view"))


@bp.route("/inbox/teach", methods=["POST"])
def inbox_teach() -> Tuple[str, int] | BaseResponse:
    """Give a group to the FAQ chosen (the suggestion is only pre-selected)."""
    form = TeachForm()
    return _act(form, lambda: inbox().teach(form.group.data, form.faq.data, who()))


@bp.route("/inbox/phone", methods=["POST"])
def inbox_phone() -> Tuple[str, int] | BaseResponse:
    """Mark a group as questions that must go to the phone (out_of_scope examples)."""
    form = GroupForm()
    return _act(form, lambda: inbox().teach(form.group.data, OUT_OF_SCOPE, who()))


@bp.route("/inbox/dismiss", methods=["POST"])
def inbox_dismiss() -> Tuple[str, int] | BaseResponse:
    """Take a group out of the inbox without teaching anything."""
    form = GroupForm()
    return _act(form, lambda: inbox().dismiss(form.group.data, who()))


@bp.route("/inbox/bring-back", methods=["POST"])
def inbox_bring_back() -> Tuple[str, int] | BaseResponse:
    """Undo the last dismissal."""
    return _act(ButtonForm(), lambda: inbox().bring_back(who()))


@bp.route("/inbox/undo", methods=["POST"])
def inbox_undo() -> Tuple[str, int] | BaseResponse:
    """Take back the last change to the training data (as `make faq-undo`)."""
    return _act(ButtonForm(), lambda: inbox().undo(who()))


# ----- FAQs


def form_problems(form: FlaskForm) -> str:
    """A form's validation errors in one sentence."""
    problems = "; ".join(
        f"{form[name].label.text}: {', '.join(errors)}" for name, errors in form.errors.items()
    )
    return f"Nothing was changed: {problems}."


def faqs_page(error: str = "", status: int = HTTPStatus.OK) -> Tuple[str, int]:
    """Every FAQ with its answer, examples and test questions."""
    training = faqs().load()
    listed = faqs().all(training)
    return render_template(
        "console/faqs.html", faqs=listed, counts=faq_counts(listed), error=error,
        last_change=inbox().last_change(), form=ButtonForm(),
    ), status


def faq_page(
    key: str, error: str = "", status: int = HTTPStatus.OK, answer_form: Optional[AnswerForm] = None,
    questions_form: Optional[QuestionsForm] = None, version: str = "",
) -> Tuple[str, int]:
    """One FAQ: its answer checked against the page, its questions, and the forms to change them.

    After a refused change, `answer_form` / `questions_form` keep what was typed; `version`
    stays the one the page was first loaded with unless the refusal was a concurrent edit.
    """
    training = faqs().load()
    try:
        faq = faqs().one(key, training)
    except UserError as unknown:
        return render_template("console/faq_unknown.html", error=str(unknown)), HTTPStatus.NOT_FOUND
    checks = faq.checks
    typed = answer_form.answer.data if answer_form is not None and answer_form.answer.data else None
    if typed is not None and typed.strip():
        checks = faqs().check(" ".join(typed.split()))
    return render_template(
        "console/faq.html", faq=faq, checks=checks, error=error,
        answer=typed if typed is not None else faq.answer,
        confirm=bool(answer_form is not None and answer_form.confirm.data),
        questions=questions_form.questions.data if questions_form is not None else "",
        as_test=bool(questions_form is not None and questions_form.test.data),
        version=version or training.version(), last_change=inbox().last_change(), form=ButtonForm(),
    ), status


def _refused(key: str, error: UserError, **kept: object) -> Tuple[str, int]:
    """A change refused by the engine: the FAQ's page again, with the reason and what was typed."""
    concurrent = str(error) == CHANGED_SINCE
    form_version = request.form.get("version", "")
    return faq_page(
        key, str(error), HTTPStatus.CONFLICT, version="" if concurrent else form_version[:64], **kept
    )


@bp.route("/faqs")
def faqs_view() -> Tuple[str, int]:
    """Every FAQ, with its answer and questions."""
    return faqs_page()


@bp.route("/faqs/<key>")
def faq_view(key: str) -> Tuple[str, int]:
    """One FAQ, with the faithfulness check of its answer."""
    return faq_page(key)


@bp.route("/faqs/<key>/questions", methods=["POST"])
def faq_add_questions(key: str) -> Tuple[str, int] | BaseResponse:
    """Teach an FAQ more questions (or add test questions)."""
    form = QuestionsForm()
    if not form.validate_on_submit():
        return faq_page(key, form_problems(form), HTTPStatus.BAD_REQUEST, questions_form=form)
    try:
        done = faqs().add_examples(key, lines(form.questions.data), form.test.data, form.version.data, who())
    except UserError as error:
        return _refused(key, error, questions_form=form)
    flash(done, "done")
    return redirect(url_for("console.faq_view", key=key))


@bp.route("/faqs/<key>/remove", methods=["POST"])
def faq_remove_questions(key: str) -> Tuple[str, int] | BaseResponse:
    """Take the ticked questions away from an FAQ."""
    form = RemoveForm()
    ticked = request.form.getlist("question")
    if not form.validate_on_submit():
        return faq_page(key, form_problems(form), HTTPStatus.BAD_REQUEST)
    try:
        done = faqs().remove_examples(key, ticked, form.test.data, form.version.data, who())
    except UserError as error:
        return _refused(key, error)
    flash(done, "done")
    return redirect(url_for("console.faq_view", key=key))


@bp.route("/faqs/<key>/answer", methods=["POST"])
def faq_answer(key: str) -> Tuple[str, int] | BaseResponse:
    """Check a new answer against the clinic's page, or save it (flagged: only when confirmed)."""
    form = AnswerForm()
    if not form.validate_on_submit():
        return faq_page(key, form_problems(form), HTTPStatus.BAD_REQUEST, answer_form=form)
    if request.form.get("action") != "save":
        return faq_page(key, answer_form=form, version=form.version.data)
    try:
        done = faqs().set_answer(key, form.answer.data, form.confirm.data, form.version.data, who())
    except UserError as error:
        return _refused(key, error, answer_form=form)
    flash(done, "done")
    return redirect(url_for("console.faq_view", key=key))


def new_faq_page(
    form: NewFaqForm, error: str = "", status: int = HTTPStatus.OK, version: str = ""
) -> Tuple[str, int]:
    """The form for a new FAQ, with the check of the answer typed so far."""
    typed = " ".join((form.answer.data or "").split())
    return render_template(
        "console/faq_new.html", form=form, error=error, checks=faqs().check(typed) if typed else [],
        version=version or faqs().load().version(),
    ), status


@bp.route("/faqs/new", methods=["GET", "POST"])
def faq_new() -> Tuple[str, int] | BaseResponse:
    """A new FAQ: name, answer (checked against the page), example and test questions."""
    form = NewFaqForm()
    if request.method == "GET":
        return new_faq_page(form)
    if not form.validate_on_submit():
        return new_faq_page(form, form_problems(form), HTTPStatus.BAD_REQUEST)
    if request.form.get("action") != "save":
        return new_faq_page(form, version=form.version.data)
    try:
        done = faqs().add_faq(
            form.key.data or "", form.answer.data or "", lines(form.examples.data), lines(form.tests.data),
            form.confirm.data, form.version.data, who(),
        )
    except UserError as error:
        keep = "" if str(error) == CHANGED_SINCE else form.version.data
        return new_faq_page(form, str(error), HTTPStatus.CONFLICT, version=keep)
    flash(done, "done")
    return redirect(url_for("console.faq_view", key=form.key.data.strip().removeprefix("faq/")))


@bp.route("/faqs/undo", methods=["POST"])
def faqs_undo() -> Tuple[str, int] | BaseResponse:
    """Take back the last change to the training data (as `make faq-undo`)."""
    if not ButtonForm().validate_on_submit():
        return faqs_page("Nothing was changed: the form was not complete.", HTTPStatus.BAD_REQUEST)
    try:
        outcome = inbox().undo(who())
    except UserError as error:
        return faqs_page(str(error), HTTPStatus.CONFLICT)
    flash(outcome.message, "done")
    return redirect(url_for("console.faqs_view"))


# ----- Insights


def insights_figures() -> Tuple[Figures, List[InboxGroup], str]:
    """The chosen period's figures and largest unanswered groups, and any problem, for people."""
    period, problem = parse_period(request.args.get("from", ""), request.args.get("to", ""))
    try:
        found = figures(read_conversations(inbox().project), period)
        groups = inbox().groups(asked=found.asked)
    except UserError as failure:
        found, groups = figures({}, period), []
        problem = "\n".join(filter(None, [problem, str(failure)]))
    return found, sorted(groups, key=lambda g: (-g.times, -g.latest))[:INSIGHTS_GROUPS], problem


@bp.route("/insights")
def insights_view() -> str:
    """Conversations, kinds of replies, FAQs, unanswered questions and ratings over a period."""
    found, groups, problem = insights_figures()
    return render_template("console/insights.html", found=found, groups=groups, error=problem)


@bp.route("/insights.csv")
def insights_csv() -> Response:
    """The Insights page's tables for the period, as a spreadsheet-safe CSV."""
    found, groups, _ = insights_figures()
    rows = [(g.questions[0].shown, g.times, len(g.questions)) for g in groups]
    name = f"insights-{found.period.first}-to-{found.period.last}.csv"
    return Response(
        "\ufeff" + csv_text(found, rows), content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/<path:_rest>", methods=["GET", "POST"])
def unknown(_rest: str) -> BaseResponse:
    """Any other /staff URL: not found, once signed in (signed out: the sign-in page)."""
    abort(HTTPStatus.NOT_FOUND)


@bp.app_context_processor
def forms() -> Dict[str, FlaskForm]:
    """The sign-out button on every page."""
    return {"sign_out_form": SignOutForm()}
