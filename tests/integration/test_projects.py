"""Projects: create, list, get, rename/describe, delete, and the validation of names and
descriptions; the list's pages and the bounded page of generations each project carries.
Each test uses its own user so that lists are predictable."""

import http.client
import itertools
import json
import random
import re
import secrets
import time

import pytest

from conftest import PREFIX, assert_error, assert_ok

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
_n = itertools.count()


@pytest.fixture(scope="module")
def user(server):
    """A user shared by the tests that do not depend on the whole list."""
    return server.add_user("projects-owner", credits=0)


@pytest.fixture
def fresh_user(server):
    """A new user with no projects."""
    return server.add_user(f"p{next(_n)}", credits=0)


def create(server, token, **body):
    return assert_ok(server.api("POST", "/projects", body=body, token=token), 201)["project"]


def get(server, token, pid):
    return server.api("GET", f"/projects/{pid}", token=token)


def listing(server, token):
    """Every project of the user, newest first, following the list's pages."""
    projects, cursor = [], None
    while True:
        page = assert_ok(server.api("GET", "/projects" + (f"?before={cursor}" if cursor else ""),
                                    token=token))
        projects += page["projects"]
        cursor = page["nextCursor"]
        if cursor is None:
            return projects
        assert cursor == projects[-1]["id"], page


# -- create / get / list ----------------------------------------------------------------------

def test_create_returns_the_project(server, user):
    r = server.api("POST", "/projects", body={"name": "My First Project",
                                              "description": "Test project"}, token=user)
    p = assert_ok(r, 201)["project"]
    assert isinstance(p["id"], str) and p["id"]
    assert p["name"] == "My First Project"
    assert p["description"] == "Test project"
    assert ISO_Z.match(p["createdAt"]), p
    assert ISO_Z.match(p["updatedAt"]), p
    assert p["generations"] == []
    assert p["generationCount"] == 0
    assert p["generationsNextCursor"] is None
    assert r.headers.get("content-type", "").startswith("application/json")


def test_description_defaults_to_null(server, user):
    p = create(server, user, name="no description")
    assert p["description"] is None


def test_get_returns_what_was_created(server, user):
    p = create(server, user, name="get me", description="d")
    got = assert_ok(get(server, user, p["id"]))["project"]
    assert got == p


def test_list_is_newest_first(server, fresh_user):
    user = fresh_user
    assert listing(server, user) == []
    ids = []
    for i in range(5):
        ids.append(create(server, user, name=f"n{i}")["id"])
        time.sleep(0.005)  # distinct creation times; same-millisecond ties: next test
    listed = listing(server, user)
    assert [p["id"] for p in listed] == ids[::-1]
    for p in listed:
        assert p["generations"] == []
        assert ISO_Z.match(p["createdAt"]), p


def test_list_order_holds_for_projects_made_in_quick_succession(server, fresh_user):
    # a script creating projects back to back (several per millisecond on one keep-alive
    # connection) must still see them newest first, in the order it made them
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    ids = []
    try:
        for i in range(30):
            conn.request("POST", PREFIX + "/projects", body=json.dumps({"name": f"q{i}"}),
                         headers={"Authorization": f"Bearer {fresh_user}",
                                  "Content-Type": "application/json"})
            resp = conn.getresponse()
            body = json.loads(resp.read())
            assert resp.status == 201, body
            ids.append(body["project"]["id"])
    finally:
        conn.close()
    listed = [p["id"] for p in listing(server, fresh_user)]
    expected = ids[::-1]
    wrong = [(i, listed[i], expected[i]) for i in range(len(ids)) if listed[i] != expected[i]]
    assert listed == expected, f"{len(wrong)} of {len(ids)} positions out of order, first: " \
                               f"{wrong[:3]} (list position, got id, expected id)"


def test_unicode_name_round_trips_exactly(server, user):
    name = "Проект 🎬 映画"
    p = create(server, user, name=name, description="Ünïcødé ✓\nsecond line")
    assert p["name"] == name
    got = assert_ok(get(server, user, p["id"]))["project"]
    assert got["name"] == name
    assert got["description"] == "Ünïcødé ✓\nsecond line"
    assert any(x["name"] == name for x in listing(server, user))


@pytest.mark.parametrize("name", ["x" * 100, "🎬" * 100, "é" * 100, "a", "Q3 plan: v2 (draft) & notes"])
def test_valid_names(server, user, name):
    assert create(server, user, name=name)["name"] == name


@pytest.mark.parametrize("body", [
    {},
    {"description": "no name"},
    {"name": ""},
    {"name": "   "},
    {"name": " \t\n "},
    {"name": "x" * 101},
    {"name": "🎬" * 101},
    {"name": "a\u0001b"},
    {"name": "line1\nline2"},
    {"name": "a\u007fb"},
    {"name": 5},
    {"name": None},
    {"name": True},
    {"name": ["list"]},
    {"name": {"o": 1}},
], ids=lambda b: repr(b)[:40])
def test_invalid_name_is_refused(server, user, body):
    before = len(listing(server, user))
    assert_error(server.api("POST", "/projects", body=body, token=user), 422, "invalid_request",
                 field="name")
    assert len(listing(server, user)) == before


@pytest.mark.parametrize("desc", ["é" * 2000, "line 1\nline 2\r\n\tindented", None])
def test_valid_descriptions(server, user, desc):
    p = create(server, user, name="d", description=desc)
    assert p["description"] == desc
    assert assert_ok(get(server, user, p["id"]))["project"]["description"] == desc


def test_nul_character_in_name_is_an_invalid_name(server, user):
    # "\u0000" is valid JSON (RFC 8259), so this is a name with a control character:
    # 422 naming the field, like any other control character
    before = len(listing(server, user))
    r = server.api("POST", "/projects", raw='{"name": "a\\u0000b"}', token=user)
    assert_error(r, 422, "invalid_request", field="name")
    assert len(listing(server, user)) == before


@pytest.mark.parametrize("desc", ["é" * 2001, 5, ["x"], {"a": 1}, True],
                         ids=lambda d: repr(d)[:20])
def test_invalid_description_is_refused(server, user, desc):
    before = len(listing(server, user))
    assert_error(server.api("POST", "/projects", body={"name": "ok", "description": desc},
                            token=user), 422, "invalid_request", field="description")
    assert len(listing(server, user)) == before


def test_empty_description_is_accepted(server, user):
    p = create(server, user, name="d", description="")
    assert p["description"] in ("", None)


# -- patch ------------------------------------------------------------------------------------

def test_patch_name_changes_updated_at_only(server, user):
    p = create(server, user, name="before", description="keep me")
    time.sleep(0.02)  # so that the new updatedAt can differ at millisecond precision
    r = server.api("PATCH", f"/projects/{p['id']}", body={"name": "after"}, token=user)
    q = assert_ok(r)["project"]
    assert q["id"] == p["id"]
    assert q["name"] == "after"
    assert q["description"] == "keep me"
    assert q["createdAt"] == p["createdAt"]
    assert q["updatedAt"] != p["updatedAt"]
    assert ISO_Z.match(q["updatedAt"])
    assert q["updatedAt"] > p["updatedAt"]
    assert assert_ok(get(server, user, p["id"]))["project"] == q


def test_patch_description_and_clear_it(server, user):
    p = create(server, user, name="n", description="old")
    q = assert_ok(server.api("PATCH", f"/projects/{p['id']}",
                             body={"description": "new\ntext"}, token=user))["project"]
    assert (q["name"], q["description"]) == ("n", "new\ntext")
    q = assert_ok(server.api("PATCH", f"/projects/{p['id']}", body={"description": None},
                             token=user))["project"]
    assert (q["name"], q["description"]) == ("n", None)
    assert assert_ok(get(server, user, p["id"]))["project"]["description"] is None


def test_patch_both_fields(server, user):
    p = create(server, user, name="n")
    q = assert_ok(server.api("PATCH", f"/projects/{p['id']}",
                             body={"name": "Проект 🎬", "description": "d"}, token=user))[
        "project"]
    assert (q["name"], q["description"]) == ("Проект 🎬", "d")


@pytest.mark.parametrize("body,field", [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": 5}, "name"),
    ({"name": None}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "a\u0001b"}, "name"),
    ({"description": "x" * 2001}, "description"),
    ({"description": 5}, "description"),
], ids=lambda v: repr(v)[:30])
def test_patch_invalid_field_leaves_project_unchanged(server, user, body, field):
    p = create(server, user, name="stable", description="same")
    assert_error(server.api("PATCH", f"/projects/{p['id']}", body=body, token=user), 422,
                 "invalid_request", field=field)
    assert assert_ok(get(server, user, p["id"]))["project"] == p


def test_patch_empty_body_is_refused(server, user):
    p = create(server, user, name="stable")
    r = server.api("PATCH", f"/projects/{p['id']}", body={}, token=user)
    assert_error(r, 422, "invalid_request")
    assert assert_ok(get(server, user, p["id"]))["project"] == p


def test_patch_unknown_project(server, user):
    assert_error(server.api("PATCH", "/projects/does-not-exist", body={"name": "x"}, token=user),
                 404, "not_found")


# -- delete -----------------------------------------------------------------------------------

def test_delete(server, fresh_user):
    user = fresh_user
    keep = create(server, user, name="keep")
    gone = create(server, user, name="gone")
    r = server.api("DELETE", f"/projects/{gone['id']}", token=user)
    assert r.status == 200, r
    assert r.json == {"success": True}
    assert_error(get(server, user, gone["id"]), 404, "not_found")
    assert [p["id"] for p in listing(server, user)] == [keep["id"]]
    assert_error(server.api("DELETE", f"/projects/{gone['id']}", token=user), 404, "not_found")
    assert_error(server.api("PATCH", f"/projects/{gone['id']}", body={"name": "x"}, token=user),
                 404, "not_found")


@pytest.mark.parametrize("pid", ["does-not-exist", "01ZZZZZZZZZZZZZZZZZZZZZZZZ", "%20",
                                 "x" * 300, "1'%20OR%20'1'='1"])
def test_unknown_project_is_404(server, user, pid):
    assert_error(get(server, user, pid), 404, "not_found")
    assert_error(server.api("DELETE", f"/projects/{pid}", token=user), 404, "not_found")


def test_projects_persist_in_the_database(server, user):
    p = create(server, user, name="on disk", description="d")
    con = server.db()
    try:
        row = con.execute("SELECT name, description FROM projects WHERE id = ?",
                          (p["id"],)).fetchone()
    finally:
        con.close()
    assert row == ("on disk", "d")


# -- pages: the list, and the generations a project carries ----------------------------------

EMBEDDED = 20  # generations a project carries (api/projects.c PROJECT_RECENT)
ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # util/id.c


def make_id(ms):
    """An id as util/id.c makes one at `ms`: 48 bits of milliseconds then 80 random bits, in
    Crockford base32, so ids sort by time."""
    n = (ms << 80) | secrets.randbits(80)
    return "".join(ID_ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(26)))


def user_with_id(server):
    """A new user: (token, id)."""
    name = f"g{next(_n)}"
    token = server.add_user(name, credits=0)
    con = server.db()
    try:
        return token, con.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()[0]
    finally:
        con.close()


def insert_generations(server, uid, pid, count):
    """Writes `count` completed generations of project `pid` into the database the way the
    pipeline leaves them, one millisecond apart (rendering 500 for real would take minutes).
    Returns their ids newest first."""
    start = int(time.time() * 1000) - 10 * count
    rows = [(make_id(start + i), pid, uid, f"clip {i}", start + i) for i in range(count)]
    con = server.db(write=True)
    try:
        con.executemany(
            "INSERT INTO generations (id, project_id, user_id, provider, model_id, model_name, prompt, "
            "resolution, duration, aspect_ratio, credit_used, status, phase, progress, next_run_at, "
            "created_at, updated_at, completed_at) VALUES (?1, ?2, ?3, 'local', 'local-preview', "
            "'Local Preview Renderer', ?4, '720p', 2, '16:9', 10, 'completed', 'done', 100, ?5, ?5, ?5, ?5)",
            rows)
        con.commit()
    finally:
        con.close()
    return [r[0] for r in reversed(rows)]


def follow(server, token, pid, cursor):
    """The generations GET /generations?projectId=&before= gives from `cursor` to the end."""
    seen = []
    while cursor is not None:
        page = assert_ok(server.api("GET", f"/generations?projectId={pid}&limit=100&before={cursor}",
                                    token=token))
        seen += [g["id"] for g in page["generations"]]
        cursor = page["nextCursor"]
    return seen


def test_a_project_carries_its_newest_generations_and_a_cursor_to_the_rest(server):
    token, uid = user_with_id(server)
    big = create(server, token, name="big")["id"]
    small = create(server, token, name="small")["id"]
    ids = insert_generations(server, uid, big, 500)
    small_ids = insert_generations(server, uid, small, 3)

    got = assert_ok(get(server, token, big))["project"]
    listed = {p["id"]: p for p in listing(server, token)}
    for p in (got, listed[big]):
        assert [g["id"] for g in p["generations"]] == ids[:EMBEDDED], "the newest, newest first"
        assert all(g["projectId"] == big for g in p["generations"])
        assert p["generationCount"] == 500
        assert p["generationsNextCursor"] == ids[EMBEDDED - 1]
    assert listed[big] == got
    rest = follow(server, token, big, got["generationsNextCursor"])
    assert [g["id"] for g in got["generations"]] + rest == ids, "every one exactly once, in order"

    # the other project's count and page are its own
    assert [g["id"] for g in listed[small]["generations"]] == small_ids
    assert (listed[small]["generationCount"], listed[small]["generationsNextCursor"]) == (3, None)


@pytest.mark.parametrize("count", [0, 1, EMBEDDED, EMBEDDED + 1])
def test_the_cursor_is_null_exactly_when_the_page_holds_them_all(server, count):
    token, uid = user_with_id(server)
    pid = create(server, token, name="edge")["id"]
    ids = insert_generations(server, uid, pid, count)
    for p in (assert_ok(get(server, token, pid))["project"], listing(server, token)[0]):
        assert [g["id"] for g in p["generations"]] == ids[:EMBEDDED]
        assert p["generationCount"] == count
        if count <= EMBEDDED:
            assert p["generationsNextCursor"] is None
        else:
            assert follow(server, token, pid, p["generationsNextCursor"]) == ids[EMBEDDED:]


def test_patch_replies_with_the_bounded_page_too(server):
    token, uid = user_with_id(server)
    pid = create(server, token, name="before")["id"]
    ids = insert_generations(server, uid, pid, 30)
    p = assert_ok(server.api("PATCH", f"/projects/{pid}", body={"name": "after"}, token=token))["project"]
    assert p["name"] == "after"
    assert [g["id"] for g in p["generations"]] == ids[:EMBEDDED]
    assert (p["generationCount"], p["generationsNextCursor"]) == (30, ids[EMBEDDED - 1])


def walk_generations(server, token, query, limit):
    """Every generation GET /generations?{query} gives, following nextCursor from the first
    page to the end, `limit` a page: [(id, projectId, status)] in the order received."""
    seen, cursor = [], None
    while True:
        path = f"/generations?{query}&limit={limit}" + (f"&before={cursor}" if cursor else "")
        page = assert_ok(server.api("GET", path, token=token))
        items = page["generations"]
        assert len(items) <= limit, path
        seen += [(g["id"], g["projectId"], g["status"]) for g in items]
        cursor = page["nextCursor"]
        if cursor is None:
            return seen
        assert cursor == items[-1]["id"], path


def test_the_cursor_walks_a_project_once_each_newest_first_with_and_without_status(server):
    """A few hundred generations of a project, interleaved in time with another project's
    and in three statuses, walked through GET /generations' cursor: with a project, a
    status, both or neither, each matching generation comes exactly once, newest first (the
    list picks its index by the filters; each page starts at its cursor)."""
    token, uid = user_with_id(server)
    big = create(server, token, name="big")["id"]
    other = create(server, token, name="other")["id"]
    pick = random.Random(7)
    count = 900  # 600 of `big`, 300 of `other`
    start = int(time.time() * 1000) - 10 * count
    rows = [(make_id(start + i), other if i % 3 == 2 else big, uid, f"clip {i}",
             pick.choice(["completed"] * 5 + ["failed"] * 2 + ["cancelled"]), start + i) for i in range(count)]
    con = server.db(write=True)
    try:
        con.executemany(
            "INSERT INTO generations (id, project_id, user_id, provider, model_id, model_name, prompt, "
            "resolution, duration, aspect_ratio, credit_used, status, phase, progress, next_run_at, "
            "created_at, updated_at, completed_at) VALUES (?1, ?2, ?3, 'local', 'local-preview', "
            "'Local Preview Renderer', ?4, '720p', 2, '16:9', 10, ?5, 'done', 100, ?6, ?6, ?6, ?6)",
            rows)
        con.commit()
    finally:
        con.close()
    newest_first = [(r[0], r[1], r[4]) for r in reversed(rows)]

    def expected(project=None, status=None):
        return [g for g in newest_first if project in (None, g[1]) and status in (None, g[2])]

    assert len(expected(big)) == 600 and len(expected(big, "cancelled")) > 50
    for project, status, limit in [(big, None, 100), (big, None, 7), (big, "completed", 100),
                                   (big, "failed", 13), (big, "cancelled", 1), (other, "failed", 20),
                                   (None, None, 100), (None, "cancelled", 9)]:
        query = "&".join(([f"projectId={project}"] if project else []) + ([f"status={status}"] if status else []))
        got = walk_generations(server, token, query, limit)
        assert got == expected(project, status), (query, limit)
        assert len({g[0] for g in got}) == len(got), (query, limit)


def test_the_project_list_comes_in_pages(server, fresh_user):
    made = [create(server, fresh_user, name=f"p{i}")["id"] for i in range(45)][::-1]
    first = assert_ok(server.api("GET", "/projects", token=fresh_user))
    assert [p["id"] for p in first["projects"]] == made[:20], "20 by default, newest first"
    assert first["nextCursor"] == made[19]
    seen, cursor = [], None
    while True:
        page = assert_ok(server.api("GET", "/projects?limit=7" + (f"&before={cursor}" if cursor else ""),
                                    token=fresh_user))
        assert 1 <= len(page["projects"]) <= 7
        seen += [p["id"] for p in page["projects"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == made, "every project exactly once, newest first"
    # a page that ends with the last project says so: no empty page to fetch
    assert assert_ok(server.api("GET", "/projects?limit=45", token=fresh_user))["nextCursor"] is None
    last = assert_ok(server.api("GET", "/projects?limit=100", token=fresh_user))
    assert [p["id"] for p in last["projects"]] == made and last["nextCursor"] is None


@pytest.mark.parametrize("query,field", [
    ("limit=0", "limit"),
    ("limit=101", "limit"),
    ("limit=-5", "limit"),
    ("limit=ten", "limit"),
    ("limit=2.5", "limit"),
    ("limit=20x", "limit"),
    ("limit=" + "9" * 40, "limit"),
    ("limit=%2B5", "limit"),  # strtol took '+5' and ' 5'; parse_int takes digits only
    ("limit=%205", "limit"),
    ("before=nope", "before"),
    ("before=" + "x" * 300, "before"),
    ("before=01ZZZZZZZZZZZZZZZZZZZZZZZ%27", "before"),
])
def test_a_bad_page_query_is_refused(server, user, query, field):
    err = assert_error(server.api("GET", f"/projects?{query}", token=user), 422, "invalid_request",
                       field=field)
    if field == "limit":
        assert err["message"] == "limit must be a whole number from 1 to 100"


def test_zz_ledger_invariant_after_projects_module(server):
    server.check_ledger()
