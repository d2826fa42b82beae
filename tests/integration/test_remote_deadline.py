"""A model's own time bound (catalog `maxWaitSeconds`): a job the provider has taken but never
finishes fails when its model's time is up, with a message saying so, refunded once — and
not a moment before, whatever the other models' bounds."""

import json
import pathlib
import sys
import time

import pytest

from conftest import REPO, assert_ok
from pipeline import generate, ledger_rows, make_project, wait_for

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fakes"))
import modelslab  # noqa: E402


@pytest.fixture
def ml():
    with modelslab.ModelsLabFake(polls=None, eta=1) as fake:  # "processing" for ever
        yield fake
    assert not fake.errors, fake.errors


def test_a_job_past_its_models_time_fails_and_is_refunded_once(make_server, ml, tmp_path):
    catalog = json.loads((REPO / "config" / "catalog.json").read_text())
    for m in catalog["models"]:
        if m["id"] == "veo3":
            m["maxWaitSeconds"] = 8
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    s = make_server(extra_env={"VIDGEN_CATALOG": str(path), "MODELSLAB_API_KEY": modelslab.KEY,
                               "MODELSLAB_BASE_URL": ml.base_url})
    token = s.admin_token
    project = make_project(s, token)
    started = time.monotonic()
    g = assert_ok(generate(s, token, project, modelId="veo3", duration=8), 201)["generation"]
    done = wait_for(s, token, g["id"], timeout=60)
    took = time.monotonic() - started
    assert done["status"] == "failed", done
    assert "within the time this model is given" in done["errorMessage"], done
    assert took >= 8, f"failed after {took:.1f}s, before the model's 8 s were up"
    assert len(ml.requests("submit")) == 1 and len(ml.requests("poll")) >= 2
    [(kind, amount), refund] = ledger_rows(s, g["id"])
    assert kind == "charge" and amount < 0 and refund == ("refund", -amount)
    s.check_ledger()
