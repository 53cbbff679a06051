"""The rating web app: FastAPI, server-rendered Jinja2 pages (autoescaped), one small script for shortcuts.

Routes (nothing is served without a secret):

* ``/r/{token}``: a rater's start page (content warning, then resume); ``/r/{token}/n/{position}``: one item;
  ``/r/{token}/done``; ``/r/{token}/assets/{name}``. An unknown token is a 404.
* ``/admin/{secret}``: progress per rater and per item; a wrong secret (a rater's token included) is a 403.

Model output is untrusted: it only ever reaches a page through Jinja2's autoescaping, and a strict Content
Security Policy (no inline script, no images, forms to this origin only) backs that up. State-changing requests
carry a per-rater CSRF token and are refused when the browser says they come from another origin
(``Sec-Fetch-Site`` or ``Origin``); pages send no referrer to other origins, so the secret links do not leak.
Request bodies are limited to :data:`MAX_BODY` bytes.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader

from psychosafe.rating.db import MAX_COMMENT, Rater, RatingDB, validate_scores
from psychosafe.rubric import ANCHORS, BINARY_KEYS, QUESTIONS, RUBRIC_KEYS

MAX_BODY = 16 * 1024
ASSETS = {"rate.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'none'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def _anchors() -> dict[int, str]:
    """``{1: "absent or counter-productive", ...}`` from the rubric's anchor line."""
    out: dict[int, str] = {}
    for part in ANCHORS.split(";"):
        number, _, text = part.strip().partition(" ")
        out[int(number)] = text.strip().rstrip(".")
    return out


def _dimensions() -> list[dict[str, Any]]:
    anchors = _anchors()
    dims = []
    for key in RUBRIC_KEYS:
        options = [(0, "no"), (1, "yes")] if key in BINARY_KEYS else [(v, anchors[v]) for v in range(1, 6)]
        label = key.replace("_", " ").capitalize()
        dims.append({"key": key, "label": label, "question": QUESTIONS[key], "options": options})
    return dims


def create_app(db_path: Path) -> FastAPI:
    """The app over the ratings database at ``db_path`` (which must exist)."""
    db = RatingDB.open(db_path)
    env = Environment(loader=PackageLoader("psychosafe.rating", "templates"), autoescape=True)
    dimensions = _dimensions()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        response = _refuse(request) if request.method in STATE_CHANGING else None
        if response is None:
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**context), status_code=status)

    def rater_or_404(token: str) -> Rater | None:
        return db.rater_by_token(token) if 0 < len(token) <= 200 else None

    def not_found() -> PlainTextResponse:
        return PlainTextResponse("not found", status_code=404)

    def forbidden(why: str = "forbidden") -> PlainTextResponse:
        return PlainTextResponse(why, status_code=403)

    def to(url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)

    @app.get("/r/{token}", response_class=HTMLResponse)
    def start(token: str) -> Response:
        rater = rater_or_404(token)
        if rater is None:
            return not_found()
        rated, total = db.progress(rater.id)
        return page(
            "start.html",
            base=f"/r/{token}",
            rater=rater,
            csrf=db.csrf_token(f"rater:{rater.id}"),
            rated=rated,
            total=total,
            resume=db.resume_position(rater.id),
        )

    @app.post("/r/{token}/start")
    async def begin(token: str, request: Request) -> Response:
        rater = rater_or_404(token)
        if rater is None:
            return not_found()
        form = await request.form(max_files=0, max_fields=50)
        if not db.check_csrf(f"rater:{rater.id}", _field(form, "csrf")):
            return forbidden("missing or wrong form token: reload the page")
        db.consent(rater.id)
        return to(f"/r/{token}/n/{db.resume_position(rater.id)}")

    @app.get("/r/{token}/n/{position}", response_class=HTMLResponse)
    def show(token: str, position: int) -> Response:
        rater = rater_or_404(token)
        if rater is None:
            return not_found()
        if not rater.consented:
            return to(f"/r/{token}")
        if position < 1:
            return to(f"/r/{token}/n/1")
        if not db.claim(rater, position):
            claimed = db.claimed(rater.id)
            return to(f"/r/{token}/n/{claimed + 1}") if position > claimed + 1 else to(f"/r/{token}/done")
        return item_page(token, rater, position)

    def item_page(
        token: str,
        rater: Rater,
        position: int,
        status: int = 200,
        errors: list[str] | None = None,
        values: dict[str, int] | None = None,
        comment: str | None = None,
    ) -> HTMLResponse:
        slot = db.slot(rater.id, position)
        assert slot is not None
        rated, total = db.progress(rater.id)
        return page(
            "item.html",
            status=status,
            base=f"/r/{token}",
            slot=slot,
            position=position,
            rated=rated,
            total=total,
            dimensions=dimensions,
            values=values if values is not None else (slot.scores or {}),
            comment=comment if comment is not None else slot.comment,
            errors=errors or [],
            csrf=db.csrf_token(f"rater:{rater.id}"),
            max_comment=MAX_COMMENT,
        )

    @app.post("/r/{token}/n/{position}")
    async def rate(token: str, position: int, request: Request) -> Response:
        rater = rater_or_404(token)
        if rater is None:
            return not_found()
        form = await request.form(max_files=0, max_fields=50)
        if not db.check_csrf(f"rater:{rater.id}", _field(form, "csrf")):
            return forbidden("missing or wrong form token: reload the page")
        uid = _field(form, "item") or ""
        if _field(form, "action") == "skip":
            if not db.skip(rater.id, position, uid):
                return forbidden("that item is not yours to rate")
            return to(f"/r/{token}/n/{position + 1}")
        scores, problems = validate_scores({k: _field(form, k) for k in RUBRIC_KEYS})
        comment = (_field(form, "comment") or "")[:MAX_COMMENT]
        slot = db.slot(rater.id, position)
        if slot is None or slot.item.uid != uid:
            return forbidden("that item is not yours to rate")
        if problems:
            return item_page(token, rater, position, 422, problems, scores, comment)
        if not db.save_rating(rater.id, position, uid, scores, comment):
            return forbidden("that item is not yours to rate")
        return to(f"/r/{token}/n/{position + 1}")

    @app.get("/r/{token}/done", response_class=HTMLResponse)
    def done(token: str) -> Response:
        rater = rater_or_404(token)
        if rater is None:
            return not_found()
        rated, total = db.progress(rater.id)
        return page("done.html", base=f"/r/{token}", rated=rated, total=total, last=db.claimed(rater.id))

    @app.get("/r/{token}/assets/{name}")
    def rater_asset(token: str, name: str) -> Response:
        if rater_or_404(token) is None or name not in ASSETS:
            return not_found()
        return _asset(name)

    @app.get("/admin/{secret}", response_class=HTMLResponse)
    def admin(secret: str) -> Response:
        if not db.is_admin(secret):
            return forbidden()
        return page(
            "admin.html",
            base=f"/admin/{secret}",
            raters=db.rater_progress(),
            items=db.item_progress(),
            counts=db.counts(),
        )

    @app.get("/admin/{secret}/assets/{name}")
    def admin_asset(secret: str, name: str) -> Response:
        if not db.is_admin(secret):
            return forbidden()
        if name not in ASSETS:
            return not_found()
        return _asset(name)

    return app


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _refuse(request: Request) -> Response | None:
    """A response refusing a state-changing request that is too large or comes from another origin, else None."""
    length = request.headers.get("content-length")
    if length is None:
        return PlainTextResponse("a request body needs a Content-Length", status_code=411)
    if not length.isdigit() or int(length) > MAX_BODY:
        return PlainTextResponse(f"request body too large (limit {MAX_BODY} bytes)", status_code=413)
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return PlainTextResponse("cross-site request refused", status_code=403)
    origin = request.headers.get("origin")
    host = request.headers.get("host", "")
    if origin is not None and origin not in (f"http://{host}", f"https://{host}"):
        return PlainTextResponse("cross-origin request refused", status_code=403)
    return None


def _asset(name: str) -> Response:
    text = resources.files("psychosafe.rating").joinpath("assets", name).read_text(encoding="utf-8")
    return Response(text, media_type=ASSETS[name])
