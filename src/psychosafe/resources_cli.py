"""``psychosafe resources list``: the help-resource directory, filtered by locale and domain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

resources_app = typer.Typer(help="The help-resource directory.", no_args_is_help=True)


@resources_app.command("list")
def resources_list(
    locale: Annotated[
        str | None, typer.Option(help="Country code (US, GB, ...); unknown ones get the international fallback.")
    ] = None,
    domain: Annotated[str | None, typer.Option(help="Only services for this domain.")] = None,
    resources: Annotated[
        Path | None, typer.Option("--resources", help="Your own resource file (extends/overrides the built-in one).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List services with how to reach them, hours, source and last verification."""
    from psychosafe.resources import INTERNATIONAL, load_directory
    from psychosafe.taxonomy import check_domains

    if domain:
        check_domains([domain])
    directory = load_directory(resources)
    if locale:
        chosen = directory.select(locale, domain)
        if chosen and chosen[0].locale == INTERNATIONAL and locale.upper() != INTERNATIONAL:
            typer.echo(f"no services listed for {locale.upper()}; showing the international fallback", err=True)
    else:
        chosen = [r for r in directory.resources if not domain or domain in r.domains]
    rows = [r.model_dump(mode="json") for r in chosen]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        reach = ", ".join(
            row[k] if str(row[k]).lower().startswith(k) else f"{k} {row[k]}" for k in ("phone", "text", "web") if row[k]
        )
        typer.echo(
            f"{row['id']}\t{row['locale']}\t{row['name']}\t{reach or '-'}\t{row['hours'] or '-'}\t"
            f"{','.join(row['domains'])}\tverified {row['last_verified'] or 'not yet'}"
        )
