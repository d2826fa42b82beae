"""GET /models: the catalog, its capabilities, pricing and provider availability."""

import pytest

from conftest import assert_ok

IDS = ["veo3", "veo2", "text-to-video-ultra", "wan2.2-t2v", "seedance-t2v", "runway-gen3",
       "kling-2.5", "nova-reel", "local-preview"]
MODELSLAB = ["veo3", "veo2", "text-to-video-ultra", "wan2.2-t2v", "seedance-t2v"]
BASE_CREDITS = {"veo3": 2500, "veo2": 2200, "text-to-video-ultra": 1300, "wan2.2-t2v": 1200,
                "seedance-t2v": 400, "runway-gen3": 750, "kling-2.5": 500, "nova-reel": 400}

FIELDS = {
    "id": str, "name": str, "provider": str, "providerName": str,
    "maxDuration": int, "minDuration": int, "defaultDuration": int, "durations": list,
    "resolutions": list, "aspectRatios": list,
    "supportsTextToVideo": bool, "supportsImageToVideo": bool, "supportsEndImage": bool,
    "supportsNegativePrompt": bool, "supportsAudioGeneration": bool,
    "supportsPromptEnhancement": bool, "maxPromptLength": int, "description": str,
    "baseCredits": int, "route": list, "available": bool,
}


def by_id(models):
    return {m["id"]: m for m in models}


@pytest.fixture(scope="module")
def models(server):
    r = server.api("GET", "/models")  # no Authorization header
    js = assert_ok(r)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    return js["models"]


def test_lists_the_nine_models_without_auth(models):
    assert sorted(m["id"] for m in models) == sorted(IDS)
    assert len(models) == 9


@pytest.mark.parametrize("model_id", IDS)
def test_model_has_every_field_with_its_type(models, model_id):
    m = by_id(models)[model_id]
    for field, typ in FIELDS.items():
        assert field in m, f"{model_id} lacks {field}"
        v = m[field]
        if typ is int:
            assert isinstance(v, int) and not isinstance(v, bool), (model_id, field, v)
        else:
            assert isinstance(v, typ), (model_id, field, v)
    assert "unavailableReason" in m, model_id
    assert m["unavailableReason"] is None or isinstance(m["unavailableReason"], str)
    assert m["name"] and m["description"] and m["providerName"]


@pytest.mark.parametrize("model_id", IDS)
def test_model_limits_are_consistent(models, model_id):
    m = by_id(models)[model_id]
    assert 1 <= m["minDuration"] <= m["defaultDuration"] <= m["maxDuration"], m
    assert m["durations"], m
    assert all(isinstance(d, int) for d in m["durations"])
    assert m["defaultDuration"] in m["durations"], m
    assert min(m["durations"]) == m["minDuration"] and max(m["durations"]) == m["maxDuration"]
    assert "720p" in m["resolutions"], m
    assert set(m["resolutions"]) <= {"720p", "1080p", "4K"}, m
    assert m["aspectRatios"] and all(isinstance(a, str) for a in m["aspectRatios"])
    assert m["maxPromptLength"] > 0
    assert m["baseCredits"] > 0
    if m["supportsEndImage"]:
        assert m["supportsImageToVideo"], m


@pytest.mark.parametrize("model_id", IDS)
def test_route_is_a_list_of_provider_models(models, model_id):
    route = by_id(models)[model_id]["route"]
    assert len(route) >= 1
    for hop in route:
        assert isinstance(hop, dict)
        assert isinstance(hop.get("provider"), str) and hop["provider"]
        assert isinstance(hop.get("model"), str) and hop["model"]


@pytest.mark.parametrize("model_id,credits", sorted(BASE_CREDITS.items()))
def test_base_credits(models, model_id, credits):
    assert by_id(models)[model_id]["baseCredits"] == credits


def test_providers(models):
    m = by_id(models)
    for mid in MODELSLAB:
        assert m[mid]["provider"] == "modelslab", m[mid]
        assert m[mid]["providerName"] == "ModelsLab", m[mid]
    assert m["nova-reel"]["provider"] == "edenai"
    assert m["local-preview"]["provider"] == "local"
    assert m["veo3"]["name"] == "Google Veo 3"


def test_capabilities_from_the_catalog(models):
    m = by_id(models)
    assert m["veo3"]["supportsAudioGeneration"] is True
    assert m["veo2"]["supportsAudioGeneration"] is False
    assert m["kling-2.5"]["supportsEndImage"] is True
    assert m["veo3"]["supportsEndImage"] is False
    assert m["wan2.2-t2v"]["supportsImageToVideo"] is False
    assert m["nova-reel"]["supportsNegativePrompt"] is False
    assert m["nova-reel"]["maxPromptLength"] == 512
    assert m["veo3"]["maxDuration"] == 8
    assert m["veo3"]["resolutions"] == ["720p", "1080p"]
    assert m["veo2"]["resolutions"] == ["720p"]
    assert m["local-preview"]["resolutions"] == ["720p", "1080p", "4K"]


def test_without_keys_only_local_preview_is_available(models):
    m = by_id(models)
    assert m["local-preview"]["available"] is True
    assert m["local-preview"]["unavailableReason"] is None
    for mid in IDS:
        if mid != "local-preview":
            assert m[mid]["available"] is False, m[mid]
            assert isinstance(m[mid]["unavailableReason"], str) and m[mid]["unavailableReason"]
    for mid in MODELSLAB:
        assert "MODELSLAB_API_KEY" in m[mid]["unavailableReason"], m[mid]
    assert "EDENAI_API_KEY" in m["nova-reel"]["unavailableReason"]
    assert "RUNWAY_API_KEY" in m["runway-gen3"]["unavailableReason"]
    assert "KLING_ACCESS_KEY" in m["kling-2.5"]["unavailableReason"]


def test_local_preview_says_it_is_not_an_ai_model(models):
    assert "not an ai model" in by_id(models)["local-preview"]["description"].lower()


def test_models_answers_with_a_query_string(server):
    assert len(assert_ok(server.api("GET", "/models?grouped=1"))["models"]) == 9


def test_the_modelslab_key_makes_its_models_available(make_server):
    # Available means "can take a job now": the key is all ModelsLab needs.
    s = make_server(extra_env={"MODELSLAB_API_KEY": "x"})
    m = by_id(assert_ok(s.api("GET", "/models"))["models"])
    for mid in MODELSLAB:
        assert m[mid]["available"] is True, m[mid]
        assert m[mid]["unavailableReason"] is None, m[mid]
    assert m["local-preview"]["available"] is True
    assert m["nova-reel"]["available"] is False
    assert "EDENAI_API_KEY" in m["nova-reel"]["unavailableReason"]
    assert m["runway-gen3"]["available"] is False
    assert m["kling-2.5"]["available"] is False


def test_the_edenai_key_makes_nova_reel_available_but_not_runway_or_kling(make_server):
    # Eden AI does not offer Runway or Kling models: they need their own keys.
    s = make_server(extra_env={"EDENAI_API_KEY": "x"})
    m = by_id(assert_ok(s.api("GET", "/models"))["models"])
    assert m["nova-reel"]["available"] is True, m["nova-reel"]
    for mid, var in (("runway-gen3", "RUNWAY_API_KEY"), ("kling-2.5", "KLING_ACCESS_KEY")):
        assert m[mid]["available"] is False, m[mid]
        assert var in m[mid]["unavailableReason"], m[mid]
    for mid in MODELSLAB:
        assert m[mid]["available"] is False, m[mid]
