"""GET /api/openapi.json: the OpenAPI document, served without a token at the root and under
the API prefix, and what the server really answers carries what the document says it must.
(That every route is in it is tests/unit/test_openapi.c; that it is valid OpenAPI 3.1 is
`make openapi-check`.)"""

import pytest

from conftest import PREFIX, assert_ok


@pytest.fixture(scope="module")
def doc(server):
    r = server.request("GET", "/api/openapi.json")
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    return r.json


def resolve(doc, schema):
    while "$ref" in schema:
        node = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def required_fields(doc, schema):
    """The names an object reply must carry by `schema` (its allOf parts included)."""
    schema = resolve(doc, schema)
    names = set(schema.get("required", []))
    for part in schema.get("allOf", []):
        names |= required_fields(doc, part)
    return names


def reply_schema(doc, path, method, status):
    responses = doc["paths"][path][method]["responses"]
    response = resolve(doc, responses.get(str(status)) or responses["default"])
    return response["content"]["application/json"]["schema"]


def assert_matches(doc, path, method, r):
    """Every field the document requires of this reply is in it, one level into each field
    that the document describes as an object or a list of objects."""
    schema = reply_schema(doc, path, method, r.status)
    missing = required_fields(doc, schema) - set(r.json)
    assert not missing, f"{method} {path} {r.status}: missing {missing} in {r.json}"
    props = {}
    for part in [resolve(doc, schema)] + resolve(doc, schema).get("allOf", []):
        props.update(resolve(doc, part).get("properties", {}))
    for name, sub in props.items():
        value = r.json.get(name)
        sub = resolve(doc, sub)
        if isinstance(value, dict):
            assert not required_fields(doc, sub) - set(value), f"{name}: {value}"
        elif isinstance(value, list) and value and "items" in sub:
            assert not required_fields(doc, sub["items"]) - set(value[0]), f"{name}[0]: {value[0]}"


def test_served_at_the_root_and_under_the_prefix_without_a_token(server, doc):
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"][0]["url"] == PREFIX
    under_prefix = server.api("GET", "/openapi.json")
    assert under_prefix.status == 200
    assert under_prefix.json == doc


def test_replies_carry_what_the_document_requires(server, doc):
    token = server.admin_token
    assert_matches(doc, "/models", "get", server.api("GET", "/models"))
    assert_matches(doc, "/credits", "get", server.api("GET", "/credits", token=token))
    created = server.api("POST", "/projects", body={"name": "Documented"}, token=token)
    assert_ok(created, 201)
    assert_matches(doc, "/projects", "post", created)
    pid = created.json["project"]["id"]
    r = server.api("POST", "/estimate-credits", body={"modelId": "local-preview", "duration": 5})
    assert_matches(doc, "/estimate-credits", "post", r)
    gen = server.api("POST", "/generate", token=token,
                     body={"projectId": pid, "modelId": "local-preview", "prompt": "a documented fox"})
    assert_ok(gen, 201)
    assert_matches(doc, "/generate", "post", gen)
    gid = gen.json["generation"]["id"]
    assert_matches(doc, "/generations/{id}", "get", server.api("GET", f"/generations/{gid}", token=token))
    assert_matches(doc, "/generations/{id}/status", "get",
                   server.api("GET", f"/generations/{gid}/status", token=token))
    assert_matches(doc, "/credits/ledger", "get", server.api("GET", "/credits/ledger", token=token))


def test_errors_have_the_documented_shape(server, doc):
    no_token = server.api("GET", "/credits")
    assert no_token.status == 401
    assert_matches(doc, "/credits", "get", no_token)
    assert set(no_token.json["error"]) <= {"code", "message", "field"}
    invalid = server.api("POST", "/projects", body={}, token=server.admin_token)
    assert invalid.status == 422
    assert_matches(doc, "/projects", "post", invalid)
    codes = resolve(doc, {"$ref": "#/components/schemas/Error"})["properties"]["code"]["enum"]
    assert no_token.json["error"]["code"] in codes and invalid.json["error"]["code"] in codes
