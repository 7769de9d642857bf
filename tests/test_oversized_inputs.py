"""Numbers and nesting beyond what Python converts or recurses through: an integer of more
than 4,300 digits (int-string conversion limit, a ValueError) and JSON nested 100,000 deep (a
RecursionError), in a post file, in orshot.yaml or in the state file. Each is one positioned
line, exit 1, nothing sent, and the state file and git untouched: never a crash report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from reconcile_helpers import CONFIG, Workspace

LONG = "7" * 5000


def assert_one_line_and_nothing_done(
    ws: Workspace, where: str, commands: tuple[str, ...] = ("validate", "plan", "apply")
) -> None:
    head = ws.head()
    state = ws.root / ".orshot" / "state.json"
    before = state.read_bytes() if state.exists() else None
    for command in commands:
        run = ws.cli(command, *(["--push"] if command == "apply" else []))
        assert run.code == 1, (command, run.output)
        assert "crashed" not in run.output and "Traceback" not in run.output, run.output
        assert re.search("^" + where, run.output, re.M), (command, run.output)
        assert max(len(line) for line in run.output.splitlines()) < 400, run.output
    assert ws.requests() == 0
    assert ws.head() == head
    assert (state.read_bytes() if state.exists() else None) == before


@pytest.mark.parametrize(
    ("post", "where"),
    [
        (f"accounts: [x]\ncontent: hi\nrevision: {LONG}\n", r"posts/p\.yaml:3:11: error: "),
        (f"accounts: [x]\ncontent: hi\nvars: {{n: {LONG}}}\n", r"posts/p\.yaml:3:11: error: "),
        (f"accounts: [x]\ncontent: hi\nvars:\n  ? {LONG}\n  : 1\n", r"posts/p\.yaml:4:5: error: "),
        (
            "accounts: [x]\ncontent: hi\nvars: {n: 0x" + "f" * 5000 + "}\n",
            r"posts/p\.yaml:3:11: error: ",
        ),
        (  # YAML 1.1 reads 1:59:59 as a number in base 60: this one has 5,300 digits
            "accounts: [x]\ncontent: hi\nvars:\n  n: 1" + ":59" * 3000 + "\n",
            r"posts/p\.yaml:4:6: error: ",
        ),
    ],
)
def test_a_number_too_long_in_a_post_is_one_line(ws: Workspace, post: str, where: str) -> None:
    ws.post("p", post)
    assert_one_line_and_nothing_done(ws, where)


def test_a_number_too_long_in_orshot_yaml_is_one_line(ws: Workspace) -> None:
    ws.set_config(CONFIG + f"prune: {LONG}\n")
    ws.post("p", "accounts: [x]\ncontent: hi\n")
    assert_one_line_and_nothing_done(ws, r"orshot\.yaml:9:8: error: ")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"version": 1, "serial": ' + LONG + "}\n", r"\.orshot/state\.json:1:26: error: "),
        (
            '{"version": 1,\n "posts": ' + "[" * 100_000 + "]" * 100_000 + "}\n",
            r"\.orshot/state\.json: error: ",
        ),
        (
            '{"version": 1, "posts": ' + "[" * 990 + "]" * 990 + "}\n",
            r"\.orshot/state\.json: error: ",
        ),
    ],
)
def test_a_hostile_state_file_is_one_line_and_left_as_it_is(
    ws: Workspace, text: str, where: str
) -> None:
    ws.post("p", "accounts: [x]\ncontent: hi\n")
    ws.write(".orshot/state.json", text)
    ws.commit("a state file no orshot-gitops wrote")
    assert_one_line_and_nothing_done(ws, where, ("plan", "apply"))
    # validate reads the state only to know which posts went out: it must not crash on it.
    run = ws.cli("validate")
    assert run.code == 0 and "crashed" not in run.output, run.output


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"head": ' + LONG + "}"])
def test_a_hostile_saved_plan_is_one_line(ws: Workspace, tmp_path: Path, text: str) -> None:
    ws.post("p", "accounts: [x]\ncontent: hi\n")
    saved = tmp_path / "plan.json"
    saved.write_text(text, encoding="utf-8")
    head = ws.head()
    run = ws.apply(str(saved))
    assert run.code == 1, run.output
    assert run.output.startswith("error: cannot read the saved plan"), run.output
    assert "crashed" not in run.output and len(run.output) < 400, run.output
    assert ws.requests() == 0 and ws.head() == head and not (ws.root / ".orshot").exists()


@pytest.mark.parametrize(
    "source",
    [
        "{% set ns = namespace(x=2) %}{% for i in range(40) %}"
        "{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x > 5 }}",
        "{% set ns = namespace(x=3) %}{% for i in range(40) %}"
        "{% set ns.x = ns.x ** 64 %}{% endfor %}{{ ns.x > 5 }}",
        "{{ n * n * n }}",
    ],
)
def test_a_template_cannot_grow_a_number_without_bound(source: str) -> None:
    """Squaring in a loop doubles a number's digits each round: before this bound, 30 rounds
    took 7 s and 128 MB, and 40 would never end. A pull request's caption could hang plan."""
    import time

    from orshot_gitops.content.templating import TemplateEngine, TemplateProblem

    started = time.process_time()  # the work done: a busy machine stretches only wall time
    with pytest.raises(TemplateProblem) as caught:
        TemplateEngine().render(source, {"n": 10**4000})
    assert caught.value.kind == "limit"
    assert time.process_time() - started < 2.0


@pytest.mark.parametrize("status", [200, 400])
@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"data": ' + LONG + "}"])
def test_an_answer_nested_too_deep_is_an_api_error(status: int, body: str) -> None:
    """A server (or anything between) answering JSON nested past Python's recursion limit or
    with a number past its conversion limit: an error the run reports, not a crash."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from orshot_gitops.errors import UserError
    from orshot_gitops.orshot.client import OrshotClient

    class Hostile(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            payload = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        client = OrshotClient(url, "sk_test", sleep=lambda s: None, max_retries=0)
        with client, pytest.raises(UserError) as caught:
            client.list_accounts()
        assert len(str(caught.value)) < 600
    finally:
        server.shutdown()
        server.server_close()
