"""The web app's files, built into the binary: "/" opens the app; types, caching by name,
ETags, gzip and the Content-Security-Policy (src/http/assets.h)."""

import gzip
import re

import pytest

from conftest import assert_error


@pytest.fixture(scope="module")
def index(server):
    r = server.request("GET", "/")
    assert r.status == 200, r
    return r


def asset_paths(index):
    return re.findall(r'(?:href|src)="(/assets/[0-9a-f]{12}/[^"]+)"', index.body.decode())


def test_root_opens_the_app_with_a_strict_csp(index):
    assert index.headers["content-type"] == "text/html; charset=utf-8"
    assert b'<div id="app">' in index.body
    csp = index.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "http" not in csp
    assert index.headers["x-content-type-options"] == "nosniff"
    assert index.headers["cache-control"] == "no-cache"
    # nothing inline for the CSP to allow, nothing from elsewhere
    assert b"<script>" not in index.body and b"style=" not in index.body and b"//" not in index.body.replace(b"<!doctype", b"")


def test_index_revalidates_with_its_etag(server, index):
    etag = index.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{20}"', etag)
    r = server.request("GET", "/", headers={"If-None-Match": etag})
    assert r.status == 304 and r.body == b""
    assert server.request("GET", "/", headers={"If-None-Match": '"other"'}).status == 200
    assert server.request("GET", "/?project=01ABC", headers={"If-None-Match": f'"x", {etag}'}).status == 304


def test_assets_have_hashed_immutable_names_and_their_types(server, index):
    paths = asset_paths(index)
    assert any(p.endswith("/main.js") for p in paths) and any(p.endswith("/app.css") for p in paths), paths
    want = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
    for p in paths:
        r = server.request("GET", p)
        assert r.status == 200, (p, r)
        assert r.headers["content-type"] == want[p[p.rindex("."):]], p
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "content-encoding" not in r.headers  # the client did not ask for gzip
    # the UI library is vendored into the binary: its modules are served from here
    main = server.request("GET", [p for p in paths if p.endswith("/main.js")][0]).body.decode()
    assert "./lib.js" in main
    lib_path = [p for p in paths if p.endswith("/main.js")][0].replace("main.js", "vendor/preact.js")
    assert server.request("GET", lib_path).status == 200


def test_gzip_when_asked_and_smaller(server, index):
    css = [p for p in asset_paths(index) if p.endswith("/app.css")][0]
    plain = server.request("GET", css)
    zipped = server.request("GET", css, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in zipped.headers["vary"].lower()
    assert len(zipped.body) < len(plain.body) * 0.9
    assert gzip.decompress(zipped.body) == plain.body
    refused = server.request("GET", css, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers and refused.body == plain.body


def test_head_and_unknown_paths(server, index):
    r = server.request("HEAD", "/")
    assert r.status == 200 and r.body == b"" and int(r.headers["content-length"]) == len(index.body)
    for path in ("/assets/000000000000/main.js", "/index.html", "/app.css"):
        assert_error(server.request("GET", path), 404, "not_found")
    assert_error(server.request("POST", "/", body={}), 404, "not_found")
