"""A generation's files served to their owner: GET /generations/:id/video (inline),
GET /download/:id (attachment), GET /generations/:id/thumbnail — bodies, HEAD, ETag and
If-None-Match, Range (206, 416, ignored forms), ownership, status, auth, and a client that
hangs up mid-download.

Completed generations come from `completed_generation()`: the main one from the real
pipeline (POST /generate with the local-preview model, then polling its status); the
others, whose bytes the tests choose (a 9 MB file, an empty one...), are put in the data
dir the way the pipeline leaves them (videos/<id>.mp4, thumbnails/<id>.jpg) beside a
completed row inserted into the database. VIDGEN_TEST_PIPELINE=0 makes the main one that
way too (from `vidgen render`, else the ffmpeg CLI) and runs the server without a worker.
"""

import http.client
import os
import pathlib
import re
import secrets
import shutil
import socket
import struct
import subprocess
import time

import pytest

from conftest import BIN, PREFIX, Server, assert_error, assert_ok

VIA_PIPELINE = os.environ.get("VIDGEN_TEST_PIPELINE", "1") != "0"
ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # util/id.c
MiB = 1024 * 1024
BIG_SIZE = 9 * MiB + 12345  # over one of file.c's 8 MiB sendfile batches, many 512 KiB read chunks


# -- making completed generations -------------------------------------------------------------

def new_id():
    """An id of util/id.h's shape (26 Crockford base32 characters)."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(26))


def render_clip(out_mp4, out_jpg, workdir):
    """A short real MP4 and its JPEG thumbnail: vidgen's own subcommands when the binary
    has them, else the ffmpeg CLI."""
    env = dict(os.environ)
    r = subprocess.run([BIN, "render", "--prompt", "files test", "--duration", "2", str(out_mp4)],
                       cwd=str(workdir), env=env, capture_output=True, timeout=120)
    if r.returncode == 0 and out_mp4.exists():
        r = subprocess.run([BIN, "thumbnail", str(out_mp4), str(out_jpg)], cwd=str(workdir), env=env,
                           capture_output=True, timeout=120)
        if r.returncode == 0 and out_jpg.exists():
            return
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("neither `vidgen render` nor ffmpeg is available to make a clip")
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=24",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out_mp4)], check=True, timeout=120)
    subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(out_mp4), "-frames:v", "1", str(out_jpg)],
                   check=True, timeout=120)


def user_id(server, name):
    con = server.db()
    try:
        return con.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()[0]
    finally:
        con.close()


def insert_generation(server, uid, project_id, status="completed", output_path=None, thumbnail_path=None,
                      gen_id=None):
    """Writes a generation row the way the pipeline leaves it. A row that is not finished is
    leased far into the future, so no worker picks it up."""
    gen_id = gen_id or new_id()
    now = int(time.time() * 1000)
    far = now + 10 * 365 * 86400 * 1000
    done = status in ("completed", "failed", "cancelled")
    con = server.db(write=True)
    try:
        con.execute(
            "INSERT INTO generations (id, project_id, user_id, provider, model_id, model_name, prompt, "
            "resolution, duration, aspect_ratio, credit_used, status, phase, progress, next_run_at, "
            "lease_owner, lease_until, output_path, thumbnail_path, created_at, updated_at, completed_at) "
            "VALUES (?, ?, ?, 'local', 'local-preview', 'Local Preview Renderer', 'files test', '720p', 2, "
            "'16:9', 10, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (gen_id, project_id, uid, status, "done" if done else "polling", 100 if status == "completed" else 40,
             far, None if done else "files-test", None if done else far, output_path, thumbnail_path,
             now, now, now if done else None))
        con.commit()
    finally:
        con.close()
    return gen_id


def place_files(server, gen_id, video_src=None, video_bytes=None, thumb_src=None):
    """Puts a video (copied from a file or written from bytes) and a thumbnail where the
    pipeline keeps them; returns their paths relative to the data dir."""
    videos = server.data_dir / "videos"
    thumbs = server.data_dir / "thumbnails"
    videos.mkdir(exist_ok=True)
    thumbs.mkdir(exist_ok=True)
    rel_video, rel_thumb = f"videos/{gen_id}.mp4", f"thumbnails/{gen_id}.jpg"
    if video_bytes is not None:
        (server.data_dir / rel_video).write_bytes(video_bytes)
    else:
        shutil.copyfile(video_src, server.data_dir / rel_video)
    if thumb_src is not None:
        shutil.copyfile(thumb_src, server.data_dir / rel_thumb)
    return rel_video, rel_thumb if thumb_src is not None else None


def generate_via_pipeline(server, token, project_id, timeout=120):
    """POST /generate with the local renderer and wait until it completes."""
    r = server.api("POST", "/generate", token=token, body={
        "projectId": project_id, "modelId": "local-preview", "prompt": "files test",
        "resolution": "720p", "duration": 2, "aspectRatio": "16:9"})
    gen_id = assert_ok(r, r.status if r.status in (200, 201, 202) else 201)["generation"]["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = assert_ok(server.api("GET", f"/generations/{gen_id}/status", token=token))["status"]
        if st["status"] == "completed":
            return gen_id
        assert st["status"] in ("pending", "processing"), st
        time.sleep(0.2)
    raise AssertionError(f"generation {gen_id} did not complete within {timeout}s")


def completed_generation(server, token, name, project_id, clip, video_bytes=None):
    """A completed generation of user `name` with a video and a thumbnail on disk; returns
    (id, absolute video path, absolute thumbnail path). `video_bytes` replaces the video with
    those bytes (serving does not look inside), which needs the direct route."""
    if VIA_PIPELINE and video_bytes is None:
        gen_id = generate_via_pipeline(server, token, project_id)
        con = server.db()
        try:
            out, thumb = con.execute("SELECT output_path, thumbnail_path FROM generations WHERE id = ?",
                                     (gen_id,)).fetchone()
        finally:
            con.close()
        return gen_id, server.data_dir / out, server.data_dir / thumb
    gen_id = new_id()
    rel_video, rel_thumb = place_files(server, gen_id, video_src=clip[0], video_bytes=video_bytes, thumb_src=clip[1])
    insert_generation(server, user_id(server, name), project_id, output_path=rel_video, thumbnail_path=rel_thumb,
                      gen_id=gen_id)
    return gen_id, server.data_dir / rel_video, server.data_dir / rel_thumb


# -- fixtures ---------------------------------------------------------------------------------

class Env:
    pass


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One server (no worker unless the pipeline makes the videos), two users, alice's
    project, a real clip, and a few of alice's generations."""
    workdir = tmp_path_factory.mktemp("files")
    s = Server(workdir / "srv", args=() if VIA_PIPELINE else ("--no-worker",))
    try:
        s.start()
        e = Env()
        e.server = s
        e.alice = s.add_user("alice", credits=100000)
        e.bob = s.add_user("bob", credits=100000)
        r = s.api("POST", "/projects", token=e.alice, body={"name": "files"})
        e.project = assert_ok(r, r.status if r.status in (200, 201) else 201)["project"]["id"]
        clip = (workdir / "clip.mp4", workdir / "clip.jpg")
        render_clip(clip[0], clip[1], workdir)
        e.clip = clip
        e.gen, e.video, e.thumb = completed_generation(s, e.alice, "alice", e.project, clip)
        e.data = e.video.read_bytes()
        e.big_data = os.urandom(BIG_SIZE)
        e.big, e.big_video, _ = completed_generation(s, e.alice, "alice", e.project, clip, video_bytes=e.big_data)
        yield e
    finally:
        s.stop()
        s.kill()
    assert_no_sanitizer_report(s)


def assert_no_sanitizer_report(server):
    """Under `make asan` the server's stderr carries any memory error (at once) and its
    leaks (at exit). Memory errors and undefined behaviour fail whatever their origin; a
    leak fails when its stack passes through the code under test (the loops' own
    allocations that h2o 2.2 cannot free at exit are another module's business)."""
    err = server.stderr_path.read_text(errors="replace") if server.stderr_path.exists() else ""
    assert "ERROR: AddressSanitizer" not in err and "runtime error:" not in err, server.stderr_tail(80)
    ours = [rec for rec in err.split("\n\n") if "leak of" in rec and re.search(r"(http/file|api/files)\.c", rec)]
    assert not ours, "\n\n".join(ours)


def get(env, path, token="alice", method="GET", headers=None):
    tok = {"alice": env.alice, "bob": env.bob, None: None}.get(token, token)
    return env.server.api(method, path, token=tok, headers=headers)


def video_path(gen_id):
    return f"/generations/{gen_id}/video"


# -- whole files ------------------------------------------------------------------------------

def test_video_is_the_file_inline(env):
    r = get(env, video_path(env.gen))
    assert r.status == 200, r
    assert r.body == env.data
    h = r.headers
    assert h["content-type"] == "video/mp4"
    assert int(h["content-length"]) == len(env.data)
    assert "transfer-encoding" not in h
    assert h["content-disposition"] == "inline"
    assert h["accept-ranges"] == "bytes"
    assert h["etag"].startswith('"') and h["etag"].endswith('"'), h["etag"]  # strong
    assert h["last-modified"].endswith(" GMT")
    assert "private" in h["cache-control"] and "public" not in h["cache-control"]


def test_download_is_an_attachment_named_after_the_generation(env):
    r = get(env, f"/download/{env.gen}")
    assert r.status == 200, r
    assert r.body == env.data
    assert r.headers["content-type"] == "video/mp4"
    assert r.headers["content-disposition"] == f'attachment; filename="vidgen-{env.gen}.mp4"'


def test_big_file_streams_whole(env):
    r = get(env, video_path(env.big))
    assert r.status == 200, r
    assert int(r.headers["content-length"]) == BIG_SIZE
    assert r.body == env.big_data


def test_thumbnail_is_a_jpeg(env):
    r = get(env, f"/generations/{env.gen}/thumbnail")
    assert r.status == 200, r
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["content-disposition"] == "inline"
    assert r.body[:2] == b"\xff\xd8" and r.body[-2:] == b"\xff\xd9", r.body[:4]
    assert r.body == env.thumb.read_bytes()


@pytest.mark.parametrize("path", ["/generations/{}/video", "/download/{}", "/generations/{}/thumbnail"])
def test_head_sends_the_headers_of_get_and_no_body(env, path):
    g = get(env, path.format(env.gen))
    h = get(env, path.format(env.gen), method="HEAD")
    assert h.status == 200, h
    assert h.body == b""
    for name in ("content-length", "content-type", "etag", "last-modified", "content-disposition"):
        assert h.headers[name] == g.headers[name], name


def test_head_with_range_gives_the_range_length(env):
    r = get(env, video_path(env.gen), method="HEAD", headers={"Range": "bytes=10-19"})
    assert r.status == 206, r
    assert r.body == b""
    assert r.headers["content-length"] == "10"
    assert r.headers["content-range"] == f"bytes 10-19/{len(env.data)}"


def test_keep_alive_connection_serves_one_reply_after_another(env):
    conn = http.client.HTTPConnection("127.0.0.1", env.server.port, timeout=10)
    auth = {"Authorization": f"Bearer {env.alice}"}
    try:
        for headers, want in [({}, env.big_data), ({"Range": "bytes=5-9"}, env.big_data[5:10]),
                              ({}, env.data), ({"Range": "bytes=-3"}, env.big_data[-3:])]:
            gid = env.big if want is not env.data else env.gen
            conn.request("GET", PREFIX + video_path(gid), headers={**auth, **headers})
            resp = conn.getresponse()
            assert resp.read() == want
            assert resp.getheader("connection", "").lower() != "close"
    finally:
        conn.close()


def test_empty_file_is_an_empty_body(env):
    gid, _, _ = completed_generation(env.server, env.alice, "alice", env.project, env.clip, video_bytes=b"")
    r = get(env, video_path(gid))
    assert r.status == 200 and r.body == b"" and r.headers["content-length"] == "0", r
    r = get(env, video_path(gid), headers={"Range": "bytes=0-"})
    assert r.status == 416 and r.headers["content-range"] == "bytes */0", r


# -- validators -------------------------------------------------------------------------------

def etag(env, gid=None):
    return get(env, video_path(gid or env.gen), method="HEAD").headers["etag"]


@pytest.mark.parametrize("form", ["{e}", '"nope", {e}', "{e},\"other\"", "W/{e}", "*", '"a",W/{e}, "b"'])
def test_if_none_match_that_matches_is_304(env, form):
    tag = etag(env)
    r = get(env, video_path(env.gen), headers={"If-None-Match": form.format(e=tag)})
    assert r.status == 304, r
    assert r.body == b""
    assert r.headers["etag"] == tag
    assert "private" in r.headers["cache-control"]
    assert "content-range" not in r.headers


def test_if_none_match_that_does_not_match_is_the_file(env):
    r = get(env, video_path(env.gen), headers={"If-None-Match": '"0-0-0", W/"1-1-1"'})
    assert r.status == 200 and r.body == env.data, r


def test_if_modified_since(env):
    lm = get(env, video_path(env.gen), method="HEAD").headers["last-modified"]
    r = get(env, video_path(env.gen), headers={"If-Modified-Since": lm})
    assert r.status == 304, r
    r = get(env, video_path(env.gen), headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})
    assert r.status == 200 and r.body == env.data, r
    # If-None-Match decides when both are present
    r = get(env, video_path(env.gen), headers={"If-Modified-Since": lm, "If-None-Match": '"other"'})
    assert r.status == 200, r


def test_etag_changes_when_the_file_changes(env):
    gid, path, _ = completed_generation(env.server, env.alice, "alice", env.project, env.clip, video_bytes=b"A" * 100)
    before = etag(env, gid)
    time.sleep(0.01)
    path.write_bytes(b"B" * 100)  # same size, new mtime
    after = etag(env, gid)
    assert before != after
    r = get(env, video_path(gid), headers={"If-None-Match": before})
    assert r.status == 200 and r.body == b"B" * 100, r


# -- Range ------------------------------------------------------------------------------------

def ranged(env, gid, data, spec, want_first, want_last, headers=None):
    r = get(env, video_path(gid), headers={"Range": spec, **(headers or {})})
    assert r.status == 206, (spec, r)
    assert r.body == data[want_first:want_last + 1], spec
    assert r.headers["content-range"] == f"bytes {want_first}-{want_last}/{len(data)}"
    assert int(r.headers["content-length"]) == want_last - want_first + 1
    assert r.headers["content-type"] == "video/mp4"
    return r


def test_range_first_bytes(env):
    ranged(env, env.gen, env.data, "bytes=0-99", 0, 99)
    ranged(env, env.gen, env.data, "bytes=0-0", 0, 0)


def test_range_middle(env):
    n = len(env.data)
    ranged(env, env.gen, env.data, f"bytes={n // 3}-{n // 2}", n // 3, n // 2)


def test_range_suffix(env):
    n = len(env.data)
    ranged(env, env.gen, env.data, "bytes=-500", n - 500, n - 1)
    ranged(env, env.gen, env.data, f"bytes=-{n + 1000}", 0, n - 1)  # longer than the file: all of it


def test_range_open_ended(env):
    n = len(env.data)
    ranged(env, env.gen, env.data, f"bytes={n - 1234}-", n - 1234, n - 1)


def test_range_end_beyond_the_file_is_clamped(env):
    n = len(env.data)
    ranged(env, env.gen, env.data, f"bytes=100-{n + 5000}", 100, n - 1)
    ranged(env, env.gen, env.data, "bytes=100-99999999999999999999999999", 100, n - 1)


def test_range_spelling_is_tolerant(env):
    ranged(env, env.gen, env.data, "Bytes=1-2", 1, 2)
    ranged(env, env.gen, env.data, "bytes= 3-4 ,", 3, 4)


def test_range_across_chunks_of_a_big_file(env):
    ranged(env, env.big, env.big_data, "bytes=524000-1600000", 524000, 1600000)
    ranged(env, env.big, env.big_data, f"bytes={4 * MiB - 1000}-{4 * MiB + 1000}", 4 * MiB - 1000, 4 * MiB + 1000)
    ranged(env, env.big, env.big_data, f"bytes={4 * MiB + 4095}-{8 * MiB + 1}", 4 * MiB + 4095, 8 * MiB + 1)
    ranged(env, env.big, env.big_data, "bytes=1000001-", 1000001, BIG_SIZE - 1)  # not page-aligned
    ranged(env, env.big, env.big_data, "bytes=-5000000", BIG_SIZE - 5000000, BIG_SIZE - 1)


CURL = shutil.which("curl")


def curl_http2(env, path, *extra):
    """GET over HTTP/2 (h2c, prior knowledge) with the curl CLI: (version, status, body)."""
    r = subprocess.run([CURL, "-s", "--http2-prior-knowledge", "-H", f"Authorization: Bearer {env.alice}",
                        *extra, "-o", "-", "-w", "\n%{http_version} %{http_code}",
                        f"http://127.0.0.1:{env.server.port}{PREFIX}{path}"], capture_output=True, timeout=60)
    body, _, tail = r.stdout.rpartition(b"\n")
    version, status = tail.decode().split()
    return version, int(status), body


@pytest.mark.skipif(CURL is None, reason="the curl CLI is not installed")
def test_http2_gets_the_same_bytes(env):
    """HTTP/2 takes file.c's other path (pread() chunks handed to h2o, not sendfile())."""
    version, status, body = curl_http2(env, video_path(env.big))
    if version != "2":
        pytest.skip(f"no HTTP/2 with this curl or server (got HTTP/{version})")
    assert status == 200 and body == env.big_data
    version, status, body = curl_http2(env, video_path(env.big), "-H", f"Range: bytes={4 * MiB - 7}-{5 * MiB}")
    assert (version, status) == ("2", 206) and body == env.big_data[4 * MiB - 7:5 * MiB + 1]


@pytest.mark.parametrize("spec", ["bytes={n}-", "bytes={n}-{n10}", "bytes=99999999999999999999999-",
                                  "bytes=-0", "bytes={n}-99999999999999999999999"])
def test_unsatisfiable_range_is_416(env, spec):
    n = len(env.data)
    r = get(env, video_path(env.gen), headers={"Range": spec.format(n=n, n10=n + 10)})
    assert r.status == 416, (spec, r)
    assert r.headers["content-range"] == f"bytes */{n}"
    assert r.body == b""


@pytest.mark.parametrize("spec", ["bytes=0-1,5-6", "bytes=0-1, -5", "bytes=abc", "bytes=5-2", "items=0-1",
                                  "bytes=", "bytes=--1", "bytes=1-2-3", "bytes=-", "0-1", "bytes=1 -2"])
def test_multi_range_or_malformed_range_sends_the_whole_file(env, spec):
    r = get(env, video_path(env.gen), headers={"Range": spec})
    assert r.status == 200, (spec, r)
    assert r.body == env.data
    assert "content-range" not in r.headers


def test_if_range(env):
    tag = etag(env)
    lm = get(env, video_path(env.gen), method="HEAD").headers["last-modified"]
    ranged(env, env.gen, env.data, "bytes=0-9", 0, 9, headers={"If-Range": tag})
    ranged(env, env.gen, env.data, "bytes=0-9", 0, 9, headers={"If-Range": lm})
    for other in ['"0-0-0"', "W/" + tag, "Sat, 01 Jan 2000 00:00:00 GMT", "garbage"]:
        r = get(env, video_path(env.gen), headers={"Range": "bytes=0-9", "If-Range": other})
        assert r.status == 200 and r.body == env.data, (other, r)


# -- who may see what -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/generations/{}/video", "/download/{}", "/generations/{}/thumbnail"])
def test_another_users_generation_is_404(env, path):
    r = get(env, path.format(env.gen), token="bob")
    assert_error(r, 404, "not_found")
    assert env.data[:64] not in r.body


@pytest.mark.parametrize("gid", ["0" * 26, "not-an-id", "..", "%2e%2e%2fvidgen.db"])
def test_unknown_generation_is_404(env, gid):
    assert_error(get(env, video_path(gid)), 404, "not_found")


@pytest.mark.parametrize("path", ["/generations/{}/video", "/download/{}", "/generations/{}/thumbnail"])
def test_no_token_is_401(env, path):
    assert_error(get(env, path.format(env.gen), token=None), 401, "unauthorized")
    assert_error(get(env, path.format(env.gen), token="vg_not_a_token"), 401, "unauthorized")


@pytest.mark.parametrize("status", ["pending", "processing", "failed", "cancelled"])
def test_generation_without_a_finished_video_is_409(env, status):
    gid = insert_generation(env.server, user_id(env.server, "alice"), env.project, status=status)
    for path in (video_path(gid), f"/download/{gid}", f"/generations/{gid}/thumbnail"):
        err = assert_error(get(env, path), 409, "conflict")
        assert status in err["message"], err


def test_missing_file_is_404(env):
    gid, path, thumb = completed_generation(env.server, env.alice, "alice", env.project, env.clip, video_bytes=b"x" * 10)
    path.unlink()
    err = assert_error(get(env, video_path(gid)), 404, "not_found")
    assert "missing" in err["message"], err
    assert_error(get(env, f"/download/{gid}"), 404, "not_found")
    thumb.unlink()
    err = assert_error(get(env, f"/generations/{gid}/thumbnail"), 404, "not_found")
    assert "missing" in err["message"], err


@pytest.mark.parametrize("stored", ["../vidgen.db", "videos/../vidgen.db", "/etc/passwd", "", "videos", None])
def test_a_stored_path_outside_the_data_dir_or_not_a_file_is_not_served(env, stored):
    gid = insert_generation(env.server, user_id(env.server, "alice"), env.project, output_path=stored,
                            thumbnail_path=stored)
    for path in (video_path(gid), f"/generations/{gid}/thumbnail"):
        r = get(env, path)
        assert_error(r, 404, "not_found")
        assert b"SQLite" not in r.body and b"root:" not in r.body


@pytest.mark.parametrize("stored", ["../keep.txt", "videos/../../keep.txt", "./../keep.txt", "{abs}"])
def test_deleting_a_generation_never_removes_a_file_outside_the_data_dir(env, stored):
    keep = env.server.data_dir.parent / "keep.txt"
    keep.write_text("not vidgen's")
    stored = stored.format(abs=keep)
    gid = insert_generation(env.server, user_id(env.server, "alice"), env.project, status="failed",
                            output_path=stored, thumbnail_path=stored)
    assert_ok(get(env, f"/generations/{gid}", method="DELETE"))
    assert keep.read_text() == "not vidgen's"


# -- a client that goes away, a file that changes -----------------------------------------------

def open_videos(env):
    """The files under the data dir's videos/ that the server process holds open or mapped."""
    proc = pathlib.Path(f"/proc/{env.server.proc.pid}")
    videos = str((env.server.data_dir / "videos").resolve())
    held = []
    for fd in (proc / "fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(videos):
            held.append(f"fd {target}")
    for line in (proc / "maps").read_text().splitlines():
        if videos in line:
            held.append(f"mapped {line}")
    return held


def raw_get(env, path, extra=""):
    s = socket.create_connection(("127.0.0.1", env.server.port), timeout=10)
    s.sendall((f"GET {PREFIX}{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {env.alice}\r\n"
               f"{extra}\r\n").encode())
    return s


@pytest.mark.parametrize("abort", ["close", "reset"])
def test_disconnect_mid_download_leaves_the_server_serving(env, abort):
    for _ in range(5):
        s = raw_get(env, video_path(env.big))
        got = b""
        while len(got) < 200000:
            chunk = s.recv(65536)
            assert chunk, "server closed early"
            got += chunk
        assert got.startswith(b"HTTP/1.1 200")
        if abort == "reset":  # RST instead of FIN
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    # one that never reads at all
    s = raw_get(env, video_path(env.big))
    time.sleep(0.2)
    s.close()
    assert env.server.alive()
    # every file those responses opened is closed again
    deadline = time.monotonic() + 5
    while open_videos(env) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_videos(env) == []
    r = get(env, video_path(env.big))
    assert r.status == 200 and r.body == env.big_data
    ranged(env, env.big, env.big_data, "bytes=7-70", 7, 70)


def test_file_shrinking_mid_download_cuts_the_reply_short(env):
    """A file truncated while it is being sent (only an operator would do that: the
    pipeline replaces files by renaming) ends that reply early and nothing else."""
    size = 32 * MiB  # far more than the socket buffers hold when the file shrinks
    data = os.urandom(MiB) * 32
    gid, path, _ = completed_generation(env.server, env.alice, "alice", env.project, env.clip, video_bytes=data)
    s = raw_get(env, video_path(gid), "Connection: close\r\n")
    got = b""
    while len(got) < 5 * MiB:
        chunk = s.recv(1 << 20)
        assert chunk, "server closed early"
        got += chunk
    os.truncate(path, 1000)
    s.settimeout(10)
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got += chunk
    s.close()
    head, _, body = got.partition(b"\r\n\r\n")
    assert f"content-length: {size}".encode() in head.lower()
    assert len(body) < size and body == data[:len(body)]
    assert env.server.alive()
    r = get(env, video_path(gid))
    assert r.status == 200 and r.body == data[:1000], r
