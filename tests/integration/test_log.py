"""VIDGEN_LOG_FORMAT: with json, every line vidgen writes to standard error while it serves
and renders is one JSON object with ts, level and msg, and the lines about a generation
carry its id in `generation`; plain stays the default; anything else stops the start."""

import json
import re

from conftest import assert_ok
from pipeline import generate, make_project, wait_for

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_json_lines_parse_and_name_their_generation(make_server):
    s = make_server(extra_env={"VIDGEN_LOG_FORMAT": "json", "VIDGEN_LOG_LEVEL": "debug"})
    token = s.admin_token
    project = make_project(s, token)
    gen = assert_ok(generate(s, token, project, prompt='a "quoted" fox \\ in\tsnow'), 201)["generation"]["id"]
    assert wait_for(s, token, gen)["status"] == "completed"
    s.stop()
    lines = s.stderr_text().splitlines()
    assert len(lines) > 5, lines
    events = []
    for line in lines:
        event = json.loads(line)  # every line, from the first (migrations) to the last (stop)
        assert isinstance(event, dict) and {"ts", "level", "msg"} <= event.keys(), line
        assert TS.match(event["ts"]) and event["level"] in ("debug", "info", "warn", "error"), line
        events.append(event)
    mine = [e for e in events if e.get("generation") == gen]
    assert any("claimed" in e["msg"] for e in mine), events
    assert all(gen in e["msg"] for e in mine), mine
    assert any("applied migration" in e["msg"] and "generation" not in e for e in events)


def test_plain_is_the_default(make_server):
    s = make_server()
    s.stop()
    lines = s.stderr_text().splitlines()
    assert lines and all(re.match(r"^\d{4}-\d\d-\d\dT\S+Z (debug|info|warn|error) ", l) for l in lines), lines
