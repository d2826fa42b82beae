"""Start images reaching the remote providers (the fakes of tests/fakes), on the real server:
each provider gets the image as its contract takes it — a URL it fetches — and that URL is a
signed, expiring link to this server (VIDGEN_PUBLIC_URL) that opens that one image and nothing
else. Without a public URL, an image for a remote provider is refused before any charge."""

import base64
import hashlib
import hmac
import json
import pathlib
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import PREFIX, assert_ok, free_port
from pipeline import balance, generate, make_project, wait_for
from test_uploads import BOUNDARY, form, upload

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fakes"))
import edenai  # noqa: E402
import modelslab  # noqa: E402

LINK_PATH = PREFIX + "/public/images/"


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    path = tmp_path_factory.mktemp("pic") / "start.png"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720",
                    "-frames:v", "1", str(path)], check=True, timeout=60)
    return path.read_bytes()


@pytest.fixture
def ml():
    with modelslab.ModelsLabFake(polls=1) as fake:
        yield fake
    assert not fake.errors, fake.errors


@pytest.fixture
def eden():
    with edenai.EdenAIFake(polls=1) as fake:
        yield fake
    assert not fake.errors, fake.errors


@pytest.fixture
def public(make_server, ml, eden):
    port = free_port()
    s = make_server(port=port, extra_env={
        "VIDGEN_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MODELSLAB_API_KEY": modelslab.KEY, "MODELSLAB_BASE_URL": ml.base_url,
        "EDENAI_API_KEY": edenai.KEY, "EDENAI_BASE_URL": eden.base_url})
    s.token = s.admin_token
    s.project = make_project(s, s.token)
    s.public_url = f"http://127.0.0.1:{port}"
    return s


def sign(s, file_path, exp):
    """The link signature as the server makes it, from its key (core/image_link.h)."""
    key = (s.data_dir / "link-key").read_bytes()
    mac = hmac.new(key, f"{file_path}\n{exp}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def check_link(s, url, file_path):
    parts = urlsplit(url)
    assert url.startswith(s.public_url + LINK_PATH), url
    assert parts.path == LINK_PATH + file_path[len("/uploads/video-generator/"):]
    q = parse_qs(parts.query)
    exp = int(q["exp"][0])
    assert time.time() + 3600 < exp <= time.time() + 24 * 3600 + 60, "a link lives about a day"
    assert q["sig"][0] == sign(s, file_path, exp)


@pytest.mark.parametrize("model,fake_name", [("seedance-t2v", "ml"), ("nova-reel", "eden")])
def test_the_provider_fetches_the_start_image_by_a_signed_link(public, ml, eden, picture, model, fake_name):
    s, fake = public, {"ml": ml, "eden": eden}[fake_name]
    u = assert_ok(upload(s, s.token, picture), 201)
    fields = {"duration": 6 if model == "nova-reel" else 5}
    g = assert_ok(generate(s, s.token, s.project, modelId=model, startImageId=u["uploadId"], **fields),
                  201)["generation"]
    done = wait_for(s, s.token, g["id"], timeout=60)
    assert done["status"] == "completed", done
    [submit] = fake.requests("submit")
    url = submit.json["init_image"] if fake_name == "ml" else submit.json["input"]["file"]
    if fake_name == "ml":
        assert submit.path.endswith("/v7/video-fusion/image-to-video") and submit.json["model_id"] == "seedance-i2v"
    check_link(s, url, u["filePath"])
    [fetch] = fake.image_fetches
    assert fetch.url == url and fetch.status == 200 and fetch.data == picture
    s.check_ledger()


def test_a_link_opens_only_its_image_and_only_until_it_expires(public, picture, tmp_path):
    s = public
    u = assert_ok(upload(s, s.token, picture), 201)
    fp = u["filePath"]
    tail = fp[len("/uploads/video-generator/"):]
    exp = int(time.time()) + 600
    good = f"{LINK_PATH}{tail}?exp={exp}&sig={sign(s, fp, exp)}"
    r = s.request("GET", good)
    assert r.status == 200 and r.body == picture and r.headers["content-type"] == "image/png"
    past = int(time.time()) - 1
    sig = sign(s, fp, exp)
    altered = sig[:5] + ("A" if sig[5] != "A" else "B") + sig[6:]
    for path in [f"{LINK_PATH}{tail}?exp={past}&sig={sign(s, fp, past)}",   # expired, signed well
                 f"{LINK_PATH}{tail}?exp={exp}&sig={altered}",               # altered signature
                 f"{LINK_PATH}{tail}?exp={exp + 1}&sig={sig}",               # another expiry
                 f"{LINK_PATH}{tail}?exp={exp}",                             # no signature
                 f"{LINK_PATH}{tail.replace('.png', '.jpg')}?exp={exp}&sig={sig}"]:
        r = s.request("GET", path)
        assert r.status == 403, (path, r.status)
        assert b"not valid or has expired" in r.body
    # Signed well, but naming something that is not an upload's file: nothing is opened.
    for name in ["..%2F..%2Fvidgen.db", "x.png"]:
        bogus = f"/uploads/video-generator/{tail.split('/')[0]}/{name}"
        r = s.request("GET", f"{LINK_PATH}{tail.split('/')[0]}/{name}?exp={exp}&sig={sign(s, bogus, exp)}")
        assert r.status in (403, 404), r.status


def test_without_a_public_url_an_image_for_a_remote_provider_is_refused_before_any_charge(make_server, ml,
                                                                                          picture):
    s = make_server(extra_env={"MODELSLAB_API_KEY": modelslab.KEY, "MODELSLAB_BASE_URL": ml.base_url})
    token = s.admin_token
    project = make_project(s, token)
    u = assert_ok(upload(s, token, picture), 201)
    before = balance(s, token)
    r = generate(s, token, project, modelId="seedance-t2v", startImageId=u["uploadId"], duration=5)
    assert r.status == 422, r
    err = json.loads(r.body)["error"]
    assert err["field"] == "startImageId" and "VIDGEN_PUBLIC_URL" in err["message"]
    assert balance(s, token) == before and ml.requests("submit") == []
