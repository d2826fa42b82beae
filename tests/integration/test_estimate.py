"""POST /estimate-credits: the pricing rules of DESIGN §5 and the model limits, table-driven.

Each case is (request body, expected status, expected total for 200 / field at fault
otherwise)."""

import pytest

from conftest import assert_error, assert_ok

IMG = "/uploads/start.png"
END = "/uploads/end.png"

CASES = [
    # --- worked examples from the seed / DESIGN §5
    ({"modelId": "veo3", "resolution": "1080p", "duration": 8}, 200, 3250),
    ({"modelId": "veo3", "resolution": "720p", "duration": 8}, 200, 2500),
    ({"modelId": "kling-2.5", "resolution": "1080p", "duration": 10, "startImagePath": IMG},
     200, 1000),
    # --- defaults: 720p, the model's default duration
    ({"modelId": "veo3"}, 200, 2500),
    ({"modelId": "wan2.2-t2v"}, 200, 1200),
    ({"modelId": "seedance-t2v"}, 200, 400),
    ({"modelId": "nova-reel"}, 200, 400),
    ({"modelId": "runway-gen3"}, 200, 750),  # unavailable models can still be priced
    # --- resolution
    ({"modelId": "kling-2.5", "resolution": "1080p"}, 200, 650),
    ({"modelId": "local-preview", "resolution": "1080p"}, 200, 13),
    ({"modelId": "local-preview", "resolution": "4K", "duration": 10}, 200, 25),
    ({"modelId": "local-preview", "resolution": "4K", "duration": 5}, 200, 20),
    ({"modelId": "veo3", "resolution": "8K"}, 422, "resolution"),
    ({"modelId": "veo3", "resolution": "4K"}, 422, "resolution"),
    ({"modelId": "veo2", "resolution": "1080p"}, 422, "resolution"),
    ({"modelId": "veo3", "resolution": 1080}, 422, "resolution"),
    # --- duration: pro rata above the default, nothing below it
    ({"modelId": "kling-2.5", "duration": 10}, 200, 750),
    ({"modelId": "local-preview", "duration": 6}, 200, 11),
    ({"modelId": "local-preview", "duration": 20}, 200, 25),
    ({"modelId": "local-preview", "duration": 1}, 200, 10),
    ({"modelId": "text-to-video-ultra", "duration": 5}, 200, 1300),
    ({"modelId": "veo3", "duration": 16}, 422, "duration"),
    ({"modelId": "veo3", "duration": 4}, 422, "duration"),
    ({"modelId": "veo3", "duration": "8"}, 422, "duration"),
    ({"modelId": "veo3", "duration": 8.5}, 422, "duration"),
    ({"modelId": "veo3", "duration": True}, 422, "duration"),
    ({"modelId": "veo3", "duration": -8}, 422, "duration"),
    ({"modelId": "kling-2.5", "duration": 7}, 422, "duration"),
    ({"modelId": "runway-gen3", "duration": 6}, 422, "duration"),
    ({"modelId": "local-preview", "duration": 0}, 422, "duration"),
    ({"modelId": "local-preview", "duration": 21}, 422, "duration"),
    # --- aspect ratio
    ({"modelId": "seedance-t2v", "aspectRatio": "9:21"}, 200, 400),
    ({"modelId": "veo3", "aspectRatio": "9:16"}, 200, 2500),
    ({"modelId": "nova-reel", "aspectRatio": "9:16"}, 422, "aspectRatio"),
    ({"modelId": "veo3", "aspectRatio": "1:1"}, 422, "aspectRatio"),
    ({"modelId": "veo3", "aspectRatio": 1.77}, 422, "aspectRatio"),
    # --- images: start +20 %, end +30 %, both +40 %
    ({"modelId": "veo3", "startImagePath": IMG}, 200, 3000),
    ({"modelId": "kling-2.5", "startImagePath": IMG}, 200, 600),
    ({"modelId": "kling-2.5", "resolution": "1080p", "endImagePath": END}, 200, 800),
    ({"modelId": "kling-2.5", "resolution": "1080p", "startImagePath": IMG,
      "endImagePath": END}, 200, 850),
    ({"modelId": "kling-2.5", "resolution": "720p", "endImagePath": END}, 422, "endImagePath"),
    ({"modelId": "kling-2.5", "endImagePath": END}, 422, "endImagePath"),
    ({"modelId": "veo3", "endImagePath": END}, 422, "endImagePath"),
    ({"modelId": "wan2.2-t2v", "startImagePath": IMG}, 422, "startImagePath"),
    ({"modelId": "local-preview", "startImagePath": IMG}, 200, 12),
    ({"modelId": "local-preview", "startImagePath": IMG, "endImagePath": END}, 200, 14),
    # ids price as paths do; a path and an id for one image is refused
    ({"modelId": "veo3", "startImageId": "01J0000000000000000000000A"}, 200, 3000),
    ({"modelId": "kling-2.5", "resolution": "1080p", "startImageId": "01J0000000000000000000000A",
      "endImageId": "01J0000000000000000000000B"}, 200, 850),
    ({"modelId": "veo3", "startImagePath": IMG, "startImageId": "01J0000000000000000000000A"}, 422,
     "startImageId"),
    ({"modelId": "wan2.2-t2v", "startImageId": "01J0000000000000000000000A"}, 422, "startImageId"),
    ({"modelId": "veo3", "endImageId": "01J0000000000000000000000B"}, 422, "endImageId"),
    ({"modelId": "veo3", "startImagePath": 5}, 422, "startImagePath"),
    # --- audio (+10) and prompt enhancement (+5)
    ({"modelId": "veo3", "generateAudio": True}, 200, 2510),
    ({"modelId": "veo3", "enhancePrompt": True}, 200, 2505),
    ({"modelId": "veo3", "resolution": "1080p", "generateAudio": True, "enhancePrompt": True},
     200, 3265),
    ({"modelId": "veo3", "generateAudio": False, "enhancePrompt": False}, 200, 2500),
    ({"modelId": "veo2", "generateAudio": False}, 200, 2200),
    ({"modelId": "wan2.2-t2v", "enhancePrompt": False}, 200, 1200),
    ({"modelId": "veo2", "generateAudio": True}, 422, "generateAudio"),
    ({"modelId": "veo3", "generateAudio": "yes"}, 422, "generateAudio"),
    ({"modelId": "veo3", "generateAudio": 1}, 422, "generateAudio"),
    ({"modelId": "veo2", "enhancePrompt": True}, 200, 2205),
    ({"modelId": "wan2.2-t2v", "enhancePrompt": True}, 422, "enhancePrompt"),
    ({"modelId": "veo3", "enhancePrompt": "true"}, 422, "enhancePrompt"),
    # --- negative prompt and prompt length (Unicode characters, not bytes)
    ({"modelId": "veo3", "negativePrompt": "blurry"}, 200, 2500),
    ({"modelId": "nova-reel", "negativePrompt": "blurry"}, 422, "negativePrompt"),
    ({"modelId": "local-preview", "negativePrompt": "blurry"}, 422, "negativePrompt"),
    ({"modelId": "veo3", "negativePrompt": 7}, 422, "negativePrompt"),
    ({"modelId": "nova-reel", "prompt": "a" * 512}, 200, 400),
    ({"modelId": "nova-reel", "prompt": "é" * 512}, 200, 400),
    ({"modelId": "nova-reel", "prompt": "🎬" * 512}, 200, 400),
    ({"modelId": "nova-reel", "prompt": "a" * 513}, 422, "prompt"),
    ({"modelId": "nova-reel", "prompt": "é" * 513}, 422, "prompt"),
    ({"modelId": "veo3", "prompt": "x" * 2001}, 422, "prompt"),
    ({"modelId": "veo3", "prompt": ["a cat"]}, 422, "prompt"),
    # --- null means "not given" (a form sends every field, empty ones as null)
    ({"modelId": "wan2.2-t2v", "startImagePath": None, "endImagePath": None,
      "negativePrompt": None, "prompt": None}, 200, 1200),
    ({"modelId": "veo3", "resolution": None, "duration": None, "aspectRatio": None}, 200, 2500),
    # --- model id
    ({"modelId": "no-such-model"}, 404, "modelId"),
    ({"modelId": "VEO3"}, 404, "modelId"),
    ({}, 422, "modelId"),
    ({"resolution": "720p"}, 422, "modelId"),
    ({"modelId": 5}, 422, "modelId"),
    ({"modelId": None}, 422, "modelId"),
]


def _case_id(case):
    body, status, expect = case
    parts = [f"{k}={str(v)[:12]}" for k, v in body.items()]
    return f"{status}-{expect}-" + ",".join(parts)


@pytest.mark.parametrize("body,status,expect", CASES, ids=[_case_id(c) for c in CASES])
def test_estimate_table(server, body, status, expect):
    r = server.api("POST", "/estimate-credits", body=body)  # no Authorization: public
    if status == 200:
        est = assert_ok(r)["estimate"]
        assert est["total"] == expect, est
        assert est["idr"] == expect * 50, est
        assert sum(est["breakdown"].values()) == est["total"], est
    elif status == 404:
        assert_error(r, 404, "not_found", field=expect)
    else:
        assert_error(r, status, "invalid_request", field=expect)


BREAKDOWNS = [
    ({"modelId": "veo3", "resolution": "1080p", "duration": 8}, {"base": 2500, "resolution": 750}),
    ({"modelId": "veo3"}, {"base": 2500}),
    ({"modelId": "kling-2.5", "resolution": "1080p", "duration": 10, "startImagePath": IMG},
     {"base": 500, "resolution": 150, "duration": 250, "images": 100}),
    ({"modelId": "veo3", "generateAudio": True, "enhancePrompt": True},
     {"base": 2500, "audio": 10, "enhancement": 5}),
    ({"modelId": "local-preview", "resolution": "4K", "duration": 10},
     {"base": 10, "resolution": 10, "duration": 5}),
]


@pytest.mark.parametrize("body,breakdown", BREAKDOWNS)
def test_breakdown_names_each_non_zero_component(server, body, breakdown):
    est = assert_ok(server.api("POST", "/estimate-credits", body=body))["estimate"]
    assert est["breakdown"] == breakdown


def test_estimate_shape_and_echo(server):
    est = assert_ok(server.api("POST", "/estimate-credits",
                               body={"modelId": "veo3", "resolution": "1080p", "duration": 8}))[
        "estimate"]
    assert est == {
        "total": 3250, "breakdown": {"base": 2500, "resolution": 750}, "idr": 162500,
        "model": "Google Veo 3", "modelId": "veo3", "provider": "ModelsLab",
        "resolution": "1080p", "duration": 8, "aspectRatio": "16:9",
    }


def test_estimate_fills_in_the_defaults(server):
    est = assert_ok(server.api("POST", "/estimate-credits",
                               body={"modelId": "seedance-t2v"}))["estimate"]
    assert est["resolution"] == "720p"
    assert est["duration"] == 5
    assert est["aspectRatio"] == "16:9"
    assert est["model"] == "Seedance T2V"
    assert est["provider"] == "ModelsLab"


def test_every_model_at_its_defaults_costs_its_base_credits(server):
    models = assert_ok(server.api("GET", "/models"))["models"]
    for m in models:
        est = assert_ok(server.api("POST", "/estimate-credits", body={"modelId": m["id"]}))[
            "estimate"]
        assert est["total"] == m["baseCredits"], (m["id"], est)
        assert est["duration"] == m["defaultDuration"], (m["id"], est)
        assert est["aspectRatio"] == m["aspectRatios"][0], (m["id"], est)
        assert est["model"] == m["name"], (m["id"], est)
        assert est["provider"] == m["providerName"], (m["id"], est)
