"""``bannertui template|number|profile|queue`` (issue #19, Q1): templates, profiles and our
numbers could not be created at all from the CLI.  Real processes on a copy of a database
where the OS account running the suite (``ME``) is the first administrator, beside the demo
data; alice (an agent) is refused each command."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from test_cli_agents import ME, copy_of
from test_cli_commands import Result, make_env, run, sqlite_url


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-admin")
    path = root / "template.sqlite3"
    env = make_env(root, BANNERTUI_DATABASE_URL=sqlite_url(path))
    assert run(env, "db", "init", "--admin", ME).code == 0
    assert run(env, "db", "seed-demo").code == 0
    return path


@pytest.fixture
def env(template: Path, tmp_path: Path) -> dict[str, str]:
    return copy_of(template, tmp_path)[0]


def lines(result: Result) -> list[dict[str, object]]:
    assert (result.code, result.err) == (0, ""), result
    return [json.loads(line) for line in result.out.splitlines()]


def by_name(result: Result, name: str) -> dict[str, object]:
    return next(o for o in lines(result) if o["name"] == name)


def test_a_template_is_added_edited_and_removed(env: dict[str, str]) -> None:
    text = 'Bonjour $firstname|"cher client", votre rendez-vous est le $date.'
    added = run(env, "template", "add", "Rappel", "--text", text, "--queue", "Support")
    assert added == Result(0, "template Rappel added: 1 credit, variables: $firstname, $date\n", "")
    row = by_name(run(env, "template", "list"), "Rappel")
    assert row == {
        "name": "Rappel",
        "kind": "NOTIFICATION",
        "queues": ["Support"],
        "variables": ["firstname", "date"],
        "credits": 1,
        "text": text,
    }
    edited = run(env, "template", "edit", "rappel", "--rename", "Relance", "--kind", "MARKETING")
    assert edited.code == 0, edited
    row = by_name(run(env, "template", "list"), "Relance")
    assert (row["kind"], row["queues"], row["text"]) == ("MARKETING", ["Support"], text)
    assert run(env, "template", "edit", "Relance", "--no-queues").code == 0
    assert by_name(run(env, "template", "list"), "Relance")["queues"] == []
    assert run(env, "template", "remove", "Relance") == Result(0, "template Relance removed\n", "")
    assert "Relance" not in {o["name"] for o in lines(run(env, "template", "list"))}


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["add", "Empty", "--text", "  "], "Invalid template: the text is empty"),
        (["add", "Appointment reminder", "--text", "x"], "another template is named"),
        (["add", "Long", "--text", "ж" * 600], "needs 9 credits; 8 at most"),
        (["edit", "Nope", "--text", "x"], "Invalid template: no template named 'Nope'"),
        (["remove", "Nope"], "no template named 'Nope'"),
        (["add", "X", "--text", "y", "--kind", "SPAM"], "kind 'SPAM'"),
    ],
)
def test_template_refusals_name_their_cause(
    env: dict[str, str], args: list[str], error: str
) -> None:
    before = run(env, "template", "list").out
    result = run(env, "template", *args)
    assert error in result.error_line(1)
    assert run(env, "template", "list").out == before


def test_numbers_are_added_and_removed_unless_in_use(env: dict[str, str]) -> None:
    assert run(env, "number", "add", "+33 7 57 00 00 99", "--label", "Night line") == Result(
        0, "number +33757000099 added\n", ""
    )
    row = next(o for o in lines(run(env, "number", "list")) if o["number"] == "+33757000099")
    assert row == {
        "number": "+33757000099",
        "label": "Night line",
        "queue": None,
        "profiles": [],
        "connector": "Carrier HTTPS",
    }
    assert run(env, "number", "edit", "+33757000099", "--label", "Day line") == Result(
        0, "number +33757000099 labelled\n", ""
    )
    labels = {o["number"]: o["label"] for o in lines(run(env, "number", "list"))}
    assert labels["+33757000099"] == "Day line"
    assert "already one of our numbers" in run(env, "number", "add", "+33757000099").error_line(1)
    assert "Invalid number" in run(env, "number", "add", "+33 1 23 45 67 89").error_line(1)
    in_use = run(env, "number", "remove", "+33757000001")
    assert "profile" in in_use.error_line(1)
    assert run(env, "number", "remove", "+33757000099") == Result(
        0, "number +33757000099 removed\n", ""
    )


def test_a_profile_is_added_then_edited_field_by_field(env: dict[str, str]) -> None:
    added = run(
        env,
        *("profile", "add", "Night", "--direct", "--sender", "+33757000001"),
        *("--countries", "FR,BE", "--max", "3"),
    )
    assert added == Result(0, "profile Night added\n", "")
    assert by_name(run(env, "profile", "list"), "Night") == {
        "name": "Night",
        "role": "agent",
        "messaging": True,
        "direct": True,
        "smart": False,
        "max_simultaneous": 3,
        "authorized_countries": "BE,FR",
        "sender_numbers": ["+33757000001"],
    }
    assert run(env, "profile", "edit", "night", "--no-direct", "--smart").code == 0
    row = by_name(run(env, "profile", "list"), "Night")
    assert (row["direct"], row["smart"], row["max_simultaneous"]) == (False, True, 3)
    assert "authorized countries" in run(
        env, "profile", "edit", "Night", "--countries", "Atlantis"
    ).error_line(1)
    assert "no profile named" in run(env, "profile", "edit", "Day", "--max", "1").error_line(1)
    in_use = run(env, "profile", "remove", "Smart only")
    assert "is the profile of bruno" in in_use.error_line(1)
    assert run(env, "profile", "remove", "night") == Result(0, "profile night removed\n", "")
    assert "Night" not in {o["name"] for o in lines(run(env, "profile", "list"))}


def test_queue_members_are_agents(env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, "queue", "members", "Billing", "alice", "chloe") == Result(
        0, "queue Billing: alice, chloe\n", ""
    )
    billing = by_name(run(env, "queue", "list"), "Billing")
    assert sorted(billing["members"]) == ["alice", "chloe"]  # type: ignore[arg-type]
    assert "Unknown agent: ghost" in run(
        env, "queue", "members", "Billing", "alice", "ghost"
    ).error_line(1)
    assert sorted(by_name(run(env, "queue", "list"), "Billing")["members"]) == [  # type: ignore[arg-type]
        "alice",
        "chloe",
    ]
    assert "Unknown queue" in run(env, "queue", "members", "Nowhere", "alice").error_line(1)


@pytest.mark.parametrize(
    "args",
    [
        ["template", "list"],
        ["template", "add", "T", "--text", "x"],
        ["number", "add", "+33757000098"],
        ["profile", "list"],
        ["profile", "add", "P"],
        ["queue", "members", "Billing", "alice"],
    ],
)
def test_an_agent_is_refused(env: dict[str, str], args: list[str]) -> None:
    path = Path(env["BANNERTUI_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))
    with sqlite3.connect(path) as conn:  # ME becomes an agent of the demo's agent profile
        conn.execute(
            "UPDATE agent SET profile_id = (SELECT id FROM profile WHERE role = 'agent' LIMIT 1)"
            " WHERE login = ?",
            (ME,),
        )
    assert "Not allowed" in run(env, *args).error_line(1)
