"""``psychosafe rate``: human ratings in the browser. Only typer is imported here; the rest inside commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from psychosafe.errors import UserError

rate_app = typer.Typer(help="Human ratings in the browser, and agreement from them.", no_args_is_help=True)

Db = Annotated[Path, typer.Option("--db", help="The ratings database (SQLite file).")]
DEFAULT_URL = "http://127.0.0.1:8765"


def _admin_line(secret: str, base_url: str) -> str:
    return f"admin page (keep it secret; shown only now): {base_url.rstrip('/')}/admin/{secret}"


@rate_app.command("init")
def rate_init(
    db: Db,
    base_url: Annotated[str, typer.Option(help="The address raters will use (for the printed links).")] = DEFAULT_URL,
    new_admin_link: Annotated[
        bool, typer.Option("--new-admin-link", help="Replace the admin link of an existing database.")
    ] = False,
) -> None:
    """Create a ratings database and print the admin link."""
    from psychosafe.rating.db import RatingDB

    if new_admin_link:
        secret = RatingDB.open(db).rotate_admin()
    else:
        _, secret = RatingDB.create(db)
        typer.echo(f"created {db}", err=True)
    typer.echo(_admin_line(secret, base_url))


@rate_app.command("import")
def rate_import(
    source: Annotated[Path, typer.Argument(help="A run directory, or a JSONL file in the `judge score` input format.")],
    db: Db,
    overlap: Annotated[int, typer.Option(help="How many raters should rate each item.")] = 1,
    base_url: Annotated[str, typer.Option(help="The address raters will use (for the printed links).")] = DEFAULT_URL,
) -> None:
    """Add items to rate (creates the database if it does not exist yet)."""
    from psychosafe.rating.db import RatingDB
    from psychosafe.rating.items import load_items

    items = load_items(source)
    if db.exists():
        store = RatingDB.open(db)
    else:
        store, secret = RatingDB.create(db)
        typer.echo(f"created {db}", err=True)
        typer.echo(_admin_line(secret, base_url))
    added, present = store.import_items(items, overlap)
    typer.echo(f"imported {added} items ({present} already there), each for {overlap} rater(s) -> {db}")


@rate_app.command("add-rater")
def rate_add_rater(
    name: Annotated[str, typer.Argument(help="The rater's name (shown on the admin page and in exports).")],
    db: Db,
    base_url: Annotated[str, typer.Option(help="The address raters will use.")] = DEFAULT_URL,
    new_link: Annotated[bool, typer.Option("--new-link", help="Replace an existing rater's link.")] = False,
) -> None:
    """Add a rater and print their private link (shown only now)."""
    from psychosafe.rating.db import RatingDB

    token = RatingDB.open(db).add_rater(name, new_link=new_link)
    typer.echo(f"{base_url.rstrip('/')}/r/{token}")


@rate_app.command("serve")
def rate_serve(
    db: Db,
    host: Annotated[str, typer.Option(help="Address to bind; 127.0.0.1 keeps the app on this machine.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
) -> None:
    """Serve the rating pages."""
    import uvicorn

    from psychosafe.rating.app import create_app

    app = create_app(db)
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(
            f"warning: listening on {host}: anyone who can reach this address and has a link can rate; "
            "put it behind HTTPS",
            err=True,
        )
    typer.echo(f"serving {db} on http://{host}:{port} (rater links: /r/<token>, admin: /admin/<secret>)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


@rate_app.command("export")
def rate_export(
    db: Db,
    out: Annotated[Path, typer.Option("--out", help="FILE.csv or FILE.jsonl")],
) -> None:
    """Write every rating, with its item's condition and model, as CSV or JSONL."""
    import csv

    from psychosafe.rating.db import RatingDB

    rows = RatingDB.open(db).export_rows()
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise UserError(f"--out {out}: use a .csv or .jsonl file name")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8", newline="") as handle:
            if suffix == ".jsonl":
                for row in rows:
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            else:
                from psychosafe.rubric import RUBRIC_KEYS

                fields = [
                    *("rater", "item_key", "id", "condition", "model", "kind", "domain", "locale"),
                    *RUBRIC_KEYS,
                    *("comment", "revision", "created_at", "updated_at", "response"),
                ]
                writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
                writer.writeheader()
                writer.writerows(rows)
    except OSError as exc:
        raise UserError(f"cannot write {out} ({exc.strerror}): choose another --out") from None
    typer.echo(f"exported {len(rows)} ratings -> {out}")


@rate_app.command("agreement")
def rate_agreement(
    db: Db,
    judge_file: Annotated[
        Path | None, typer.Option("--judge-file", help="Output of `psychosafe judge score` (one or more judges).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Also write a Markdown section for a report here.")
    ] = None,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples for the 95% intervals.")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
) -> None:
    """Inter-rater alpha per dimension and judge-human agreement with 95% intervals."""
    from psychosafe.rating.agreement import compute, render_markdown, render_text
    from psychosafe.rating.db import RatingDB

    result = compute(RatingDB.open(db), judge_file, resamples=resamples, seed=seed)
    if markdown is not None:
        try:
            markdown.write_text(render_markdown(result), encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write {markdown} ({exc.strerror}): choose another --markdown") from None
    typer.echo(json.dumps(result, indent=2) if as_json else render_text(result))
