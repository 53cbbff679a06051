"""The rating app over HTTP: a real ``psychosafe rate serve`` process on loopback, real SQLite."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _rating_helpers import ALL_SCORES, Server, form_fields, serve, write_items
from psychosafe.rating.app import MAX_BODY
from psychosafe.rating.db import RatingDB
from psychosafe.rating.items import from_jsonl
from psychosafe.rubric import RUBRIC_KEYS


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, RatingDB, str]]:
    tmp = tmp_path_factory.mktemp("rating")
    db, admin = RatingDB.create(tmp / "ratings.db")
    db.import_items(from_jsonl(write_items(tmp / "items.jsonl", 40)), overlap=1)
    with serve(db.path) as server:
        yield server, db, admin


def client(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)


def begin(http: httpx.Client, token: str) -> None:
    """Accept the content warning."""
    page = http.get(f"/r/{token}")
    assert page.status_code == 200 and "Content warning" in page.text
    started = http.post(f"/r/{token}/start", data={"csrf": form_fields(page.text)["csrf"]})
    assert started.status_code == 303 and started.headers["location"] == f"/r/{token}/n/1"


def open_item(http: httpx.Client, token: str, position: int) -> dict[str, str]:
    page = http.get(f"/r/{token}/n/{position}")
    assert page.status_code == 200, page.text
    return form_fields(page.text)


def rows(db: RatingDB) -> list[sqlite3.Row]:
    with db.read() as c:
        return c.execute("SELECT * FROM ratings").fetchall()


def rater_rows(db: RatingDB, name: str) -> list[sqlite3.Row]:
    with db.read() as c:
        return c.execute(
            "SELECT r.* FROM ratings r JOIN raters t ON t.id = r.rater_id WHERE t.name = ?", (name,)
        ).fetchall()


def test_nothing_without_a_valid_secret(site: tuple[Server, RatingDB, str]) -> None:
    server, db, admin = site
    token = db.add_rater("access-a")
    with client(server) as http:
        for path in ("/", "/r", "/r/", "/r/not-a-token", "/r/not-a-token/n/1", "/r/not-a-token/done",
                     "/assets/rate.js", "/r/not-a-token/assets/rate.js", "/admin", "/docs", "/openapi.json",
                     f"/r/{admin}"):  # fmt: skip
            assert http.get(path).status_code == 404, path
        assert http.post("/r/not-a-token/start", data={"csrf": "x"}).status_code == 404
        for secret in ("wrong", token, admin[:-1]):
            assert http.get(f"/admin/{secret}").status_code == 403
            assert http.get(f"/admin/{secret}/assets/style.css").status_code == 403
        page = http.get(f"/admin/{admin}")
        assert page.status_code == 200 and "access-a" in page.text
        assert http.get(f"/r/{token}/assets/rate.js").status_code == 200
        assert http.get(f"/r/{token}/assets/../db.py").status_code == 404
        home = http.get(f"/r/{token}")
        assert "default-src 'none'" in home.headers["content-security-policy"]
        assert home.headers["referrer-policy"] == "same-origin"
        assert home.headers["x-content-type-options"] == "nosniff"
        # items are not shown before the content warning is accepted
        assert http.get(f"/r/{token}/n/1").headers["location"] == f"/r/{token}"


def test_a_rater_cannot_touch_another_raters_item(site: tuple[Server, RatingDB, str]) -> None:
    server, db, _ = site
    alice, bob = db.add_rater("other-a"), db.add_rater("other-b")
    with client(server) as http:
        begin(http, alice)
        begin(http, bob)
        a_form = open_item(http, alice, 1)
        b_form = open_item(http, bob, 1)
        assert a_form["item"] != b_form["item"]  # overlap 1: each item goes to one rater
        ok = http.post(f"/r/{alice}/n/1", data={**a_form, **ALL_SCORES, "comment": "alice-private-note"})
        assert ok.status_code == 303
        # bob posts a rating for alice's item, through his own link, with his own valid form token
        for data in ({**b_form, "item": a_form["item"]}, {**b_form, "item": a_form["item"], "action": "skip"}):
            assert http.post(f"/r/{bob}/n/1", data={**data, **ALL_SCORES}).status_code == 403
        # alice's form token does not work for bob, nor bob's position 1 for alice's item through bob's link
        assert http.post(f"/r/{bob}/n/1", data={**a_form, **ALL_SCORES}).status_code == 403
        assert rater_rows(db, "other-b") == []
        (stored,) = rater_rows(db, "other-a")
        assert stored["comment"] == "alice-private-note" and stored["revision"] == 1
        # bob's pages never show alice's rating
        for path in (f"/r/{bob}", f"/r/{bob}/n/1", f"/r/{bob}/n/2", f"/r/{bob}/done"):
            assert "alice-private-note" not in http.get(path, follow_redirects=True).text


def test_csrf_is_required(site: tuple[Server, RatingDB, str]) -> None:
    server, db, _ = site
    token = db.add_rater("csrf-a")
    with client(server) as http:
        begin(http, token)
        fields = open_item(http, token, 1)
        data = {**fields, **ALL_SCORES}
        assert http.post(f"/r/{token}/n/1", data={**data, "csrf": ""}).status_code == 403
        assert http.post(f"/r/{token}/n/1", data={**data, "csrf": "0" * 64}).status_code == 403
        no_token = {k: v for k, v in data.items() if k != "csrf"}
        assert http.post(f"/r/{token}/n/1", data=no_token).status_code == 403
        evil = {"Origin": "http://evil.example"}
        assert http.post(f"/r/{token}/n/1", data=data, headers=evil).status_code == 403
        for site_header in ("cross-site", "same-site"):
            assert http.post(f"/r/{token}/n/1", data=data, headers={"Sec-Fetch-Site": site_header}).status_code == 403
        assert http.post(f"/r/{token}/n/1", data=data, headers={"Origin": "null"}).status_code == 403
        assert rater_rows(db, "csrf-a") == []
        same = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
        assert http.post(f"/r/{token}/n/1", data=data, headers=same).status_code == 303
        assert len(rater_rows(db, "csrf-a")) == 1


def test_body_size_limit(site: tuple[Server, RatingDB, str]) -> None:
    server, db, _ = site
    token = db.add_rater("size-a")
    with client(server) as http:
        begin(http, token)
        fields = open_item(http, token, 1)
        big = http.post(f"/r/{token}/n/1", data={**fields, **ALL_SCORES, "comment": "x" * (MAX_BODY + 1)})
        assert big.status_code == 413

        def chunks() -> Iterator[bytes]:
            yield b"csrf=" + fields["csrf"].encode()
            yield b"&item=" + fields["item"].encode()

        chunked = http.post(
            f"/r/{token}/n/1", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert chunked.status_code == 411
        assert rater_rows(db, "size-a") == []
        # a long comment within the limit is stored, cut to the maximum length
        fine = http.post(f"/r/{token}/n/1", data={**fields, **ALL_SCORES, "comment": "y" * 5000})
        assert fine.status_code == 303
        assert len(rater_rows(db, "size-a")[0]["comment"]) == 2000


def test_double_submit_validation_skip_back_and_resume(site: tuple[Server, RatingDB, str]) -> None:
    server, db, _ = site
    token, other = db.add_rater("flow-a"), db.add_rater("flow-b")
    with client(server) as http:
        begin(http, token)
        first = open_item(http, token, 1)
        missing = {k: v for k, v in ALL_SCORES.items() if k != "referral"}
        bad = http.post(f"/r/{token}/n/1", data={**first, **missing})
        assert bad.status_code == 422 and "referral" in bad.text
        assert http.post(f"/r/{token}/n/1", data={**first, **ALL_SCORES, "empathy": "7"}).status_code == 422
        assert rater_rows(db, "flow-a") == []
        # the same form sent twice: one rating
        data = {**first, **ALL_SCORES, "comment": "twice"}
        responses = [http.post(f"/r/{token}/n/1", data=data) for _ in range(2)]
        assert [r.status_code for r in responses] == [303, 303]
        assert responses[0].headers["location"] == f"/r/{token}/n/2"
        (stored,) = rater_rows(db, "flow-a")
        assert json.loads(stored["scores"]) == {k: int(v) for k, v in ALL_SCORES.items()}
        assert stored["revision"] == 2
        # skip item 2: it is offered to another rater, and resuming goes on after it
        second = open_item(http, token, 2)
        skipped = http.post(f"/r/{token}/n/2", data={**second, "action": "skip"})
        assert skipped.headers["location"] == f"/r/{token}/n/3"
        assert len(rater_rows(db, "flow-a")) == 1
        start = http.get(f"/r/{token}")
        assert f'value="{form_fields(start.text)["csrf"]}"' in start.text
        resumed = http.post(f"/r/{token}/start", data={"csrf": form_fields(start.text)["csrf"]})
        assert resumed.headers["location"] == f"/r/{token}/n/3"
        # going back shows the earlier rating, checked
        back = http.get(f"/r/{token}/n/1")
        assert re.search(r'name="empathy" value="4" required checked', back.text)
        assert "twice" in back.text and 'id="back"' not in back.text  # nothing before the first item
        # blind: no condition, model or source id on the page
        for hidden in ("baseline", "treatment-hidden", "hidden-model-xyz"):
            assert hidden not in back.text
        assert not re.search(r"item-\d{3}", back.text)
        # asking far ahead lands on the next unclaimed position
        assert http.get(f"/r/{token}/n/99").headers["location"] == f"/r/{token}/n/3"
        begin(http, other)
        held, position = set(), 1
        while (page := http.get(f"/r/{other}/n/{position}")).status_code == 200:
            held.add(form_fields(page.text)["item"])
            position += 1
        assert page.headers["location"] == f"/r/{other}/done"
        assert second["item"] in held and first["item"] not in held  # the skipped item went to another rater


def test_acknowledged_rating_survives_a_kill(tmp_path: Path) -> None:
    db, _ = RatingDB.create(tmp_path / "kill.db")
    db.import_items(from_jsonl(write_items(tmp_path / "items.jsonl", 3)), overlap=1)
    token = db.add_rater("kill-a")
    with serve(db.path) as server, client(server) as http:
        begin(http, token)
        fields = open_item(http, token, 1)
        ack = http.post(f"/r/{token}/n/1", data={**fields, **ALL_SCORES, "comment": "must survive"})
        assert ack.status_code == 303
        server.process.kill()  # SIGKILL: no shutdown handlers, no chance to flush anything
        server.process.wait(timeout=10)
    with sqlite3.connect(db.path) as conn:
        (comment,) = conn.execute("SELECT comment FROM ratings").fetchone()
    assert comment == "must survive"
    with serve(db.path) as server, client(server) as http:
        page = http.get(f"/r/{token}/n/1")
        assert "must survive" in page.text and 'name="overall" value="4" required checked' in page.text


@pytest.mark.slow
def test_eight_raters_fifty_ratings_each_concurrently(tmp_path: Path) -> None:
    db, _ = RatingDB.create(tmp_path / "load.db")
    db.import_items(from_jsonl(write_items(tmp_path / "items.jsonl", 50)), overlap=8)
    tokens = [db.add_rater(f"load-{i}") for i in range(8)]
    errors: list[str] = []
    barrier = threading.Barrier(len(tokens))

    def work(token: str) -> None:
        try:
            with client(server) as http:
                begin(http, token)
                barrier.wait()
                for position in range(1, 51):
                    fields = open_item(http, token, position)
                    result = http.post(f"/r/{token}/n/{position}", data={**fields, **ALL_SCORES})
                    if result.status_code != 303:
                        errors.append(f"{token[:4]} {position}: {result.status_code}")
                assert http.get(f"/r/{token}/n/51").headers["location"] == f"/r/{token}/done"
        except Exception as exc:  # reported below: an assertion in a thread would be lost
            errors.append(repr(exc))

    with serve(db.path) as server:
        threads = [threading.Thread(target=work, args=(t,)) for t in tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert errors == []
    with db.read() as c:
        assert c.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 400
        assert c.execute("SELECT COUNT(DISTINCT rater_id || '/' || item_id) FROM ratings").fetchone()[0] == 400
        per_item = {n for (n,) in c.execute("SELECT COUNT(*) FROM ratings GROUP BY item_id").fetchall()}
        assert per_item == {8}


@pytest.mark.slow
def test_cli_from_run_directory_to_agreement(cli, tmp_path: Path) -> None:
    from psychosafe.corpus import load_corpus

    corpus = [r for r in load_corpus() if r.kind == "risk"][:6]
    run = tmp_path / "run"
    run.mkdir()
    generations = [
        {"condition": c, "id": r.id, "response": f"{c} answer {i}", "model": "secret-model"}
        for c in ("baseline", "psychosafe")
        for i, r in enumerate(corpus)
    ]
    (run / "generations.jsonl").write_text("".join(json.dumps(g) + "\n" for g in generations) + '{"cut')
    db_path = tmp_path / "r.db"
    imported = cli("rate", "import", str(run), "--db", str(db_path), "--overlap", "2")
    assert imported.exit_code == 0, imported.output
    assert "/admin/" in imported.output and "imported 12 items" in imported.output
    again = cli("rate", "import", str(run), "--db", str(db_path), "--overlap", "2")
    assert "imported 0 items (12 already there)" in again.output
    links = [cli("rate", "add-rater", name, "--db", str(db_path)).output.strip() for name in ("ann", "ben")]
    assert all(re.fullmatch(r"http://127\.0\.0\.1:8765/r/[\w-]{32}", link) for link in links)
    assert cli("rate", "add-rater", "ann", "--db", str(db_path)).exit_code == 2
    assert cli("rate", "import", str(tmp_path / "nope"), "--db", str(db_path)).exit_code == 2
    assert cli("rate", "init", "--db", str(db_path)).exit_code == 2

    # both raters rate every item (through the library the app uses); the scores vary with the item
    db = RatingDB.open(db_path)
    truth: dict[str, dict[str, int]] = {}
    for link in links:
        rater = db.rater_by_token(link.rsplit("/", 1)[1])
        assert rater is not None
        for position in range(1, 13):
            assert db.claim(rater, position)
            slot = db.slot(rater.id, position)
            assert slot is not None
            key = next(g for g in generations if g["response"] == slot.item.response)
            n = int(str(key["response"]).rsplit(" ", 1)[1]) + (key["condition"] == "psychosafe")
            scores = {k: (n % 2 if k in ("refusal", "harmful_content") else 1 + n % 5) for k in RUBRIC_KEYS}
            truth[f"{key['condition']}/{key['id']}"] = scores
            assert db.save_rating(rater.id, position, slot.item.uid, scores, "")
        assert not db.claim(rater, 13)

    judged = []
    for g in generations:
        exact = truth[f"{g['condition']}/{g['id']}"]
        off = {k: (1 - v if k == "refusal" else v) for k, v in exact.items()}
        judged.append({"id": g["id"], "condition": g["condition"], "judge": "exact", "scores": exact})
        judged.append({"id": g["id"], "condition": g["condition"], "judge": "flipped", "scores": off})
    judged.append({"id": "not-rated", "judge": "exact", "scores": None})
    judge_file = tmp_path / "judged.jsonl"
    judge_file.write_text("".join(json.dumps(j) + "\n" for j in judged))

    md = tmp_path / "agreement.md"
    args = ("--db", str(db_path), "--judge-file", str(judge_file), "--resamples", "50")
    result = cli("rate", "agreement", *args, "--json", "--markdown", str(md))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["n_items"], data["n_ratings"], data["n_raters"]) == (12, 24, 2)
    assert data["judges"]["exact"] == {"matched": 12, "unmatched": 0, "unscored": 0}
    refusal = data["dimensions"]["refusal"]
    assert refusal["inter_rater"]["value"] == pytest.approx(1.0) and refusal["inter_rater"]["n_items"] == 12
    assert refusal["judges"]["exact"]["kappa"]["value"] == pytest.approx(1.0)
    assert refusal["judges"]["flipped"]["kappa"]["value"] == pytest.approx(-1.0)
    assert refusal["judges"]["flipped"]["confusion"]["matrix"] == [[0, 6], [6, 0]]
    empathy = data["dimensions"]["empathy"]["judges"]["exact"]
    assert empathy["quadratic_kappa"]["value"] == pytest.approx(1.0) and empathy["spearman"]["ci_low"] is not None
    markdown = md.read_text()
    assert "## Agreement with human ratings" in markdown and "| refusal |" in markdown

    text = cli("rate", "agreement", *args)
    assert re.search(r"empathy \(ordinal\): inter-rater alpha 1\.00 \[1\.00, 1\.00\]", text.output)
    assert re.search(r"flipped vs humans \(n=12\): kappa -1\.00 \[", text.output)

    for suffix in ("csv", "jsonl"):
        out = tmp_path / f"ratings.{suffix}"
        assert cli("rate", "export", "--db", str(db_path), "--out", str(out)).exit_code == 0
        assert "secret-model" in out.read_text() and "psychosafe" in out.read_text()
    rows = [json.loads(line) for line in (tmp_path / "ratings.jsonl").read_text().splitlines()]
    assert len(rows) == 24 and {r["rater"] for r in rows} == {"ann", "ben"}
    assert cli("rate", "export", "--db", str(db_path), "--out", str(tmp_path / "x.txt")).exit_code == 2
