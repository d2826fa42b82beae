"""Image uploads (POST /upload-image, GET /uploads, GET and DELETE /uploads/:id) on the real
server, with real image files made in the test by the ffmpeg CLI.

What a user sees: a JPEG, PNG or WebP is accepted with its true dimensions (a rotated JPEG as
it is displayed), stored once however often it is uploaded, served back byte for byte; anything
else is refused with the right status and a message saying what was wrong. After every
refusal the data directory holds no new file. Images are only ever found among the caller's
own uploads."""

import hashlib
import json
import os
import pathlib
import socket
import struct
import subprocess
import zlib

import pytest

from conftest import PREFIX, assert_ok

BOUNDARY = "vidgen-test-boundary-7d1f"


# -- making images -------------------------------------------------------------------------------

def ffmpeg_image(path, size="320x240", source="testsrc2", extra=()):
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{source}=size={size}",
                    "-frames:v", "1", *extra, str(path)], check=True, timeout=60)
    return path.read_bytes()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    return {
        "jpg": ffmpeg_image(d / "a.jpg"),
        "png": ffmpeg_image(d / "a.png", size="256x200"),
        "webp": ffmpeg_image(d / "a.webp", size="200x160"),
        "gif": ffmpeg_image(d / "a.gif", size="128x128"),
        "other_png": ffmpeg_image(d / "b.png", size="300x200", source="smptebars"),
    }


def with_exif_orientation(jpeg, orientation):
    """The JPEG with an APP1 Exif segment (big-endian TIFF, IFD0 with Orientation) after SOI."""
    ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + ifd
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + app1 + jpeg[2:]


def png_header_only(width, height):
    """A PNG signature and IHDR claiming width x height, with a tiny IDAT and IEND."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


# -- the form ------------------------------------------------------------------------------------

def form(file_bytes, filename="photo.jpg", type_="start", content_type="image/jpeg", fields=None):
    parts = []
    if type_ is not None:
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="type"\r\n\r\n{type_}\r\n'.encode())
    if file_bytes is not None:
        parts.append((f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                      f"Content-Type: {content_type}\r\n\r\n").encode() + file_bytes + b"\r\n")
    for name, value in (fields or {}).items():
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def upload(s, token, file_bytes, **kw):
    return s.api("POST", "/upload-image", token=token, raw=form(file_bytes, **kw),
                 content_type=f"multipart/form-data; boundary={BOUNDARY}", timeout=60)


def files_of(s):
    """Every file under the data directory but the database's own."""
    root = s.data_dir
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and not p.name.startswith("vidgen.db") and p.name != "admin-token")


def error_of(r):
    return json.loads(r.body)["error"]


@pytest.fixture
def srv(make_server):
    s = make_server()
    s.token = s.admin_token
    return s


# -- accepted --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt,mime,size", [("jpg", "image/jpeg", (320, 240)), ("png", "image/png", (256, 200)),
                                           ("webp", "image/webp", (200, 160))])
def test_each_format_is_accepted_with_its_dimensions_and_served_back(srv, images, fmt, mime, size):
    data = images[fmt]
    r = upload(srv, srv.token, data, filename=f"../../My Photo.{fmt}", content_type="application/octet-stream")
    u = assert_ok(r, 201)
    assert (u["width"], u["height"]) == size and u["mimeType"] == mime
    assert u["fileSize"] == len(data) and u["sha256"] == hashlib.sha256(data).hexdigest()
    assert u["fileName"] == f"My Photo.{fmt}" and u["type"] == "start" and u["uploadId"]
    user_id = u["filePath"].split("/")[3]
    ext = "jpg" if fmt == "jpg" else fmt
    assert u["filePath"] == f"/uploads/video-generator/{user_id}/{u['sha256']}.{ext}"
    assert (srv.data_dir / "uploads" / user_id / f"{u['sha256']}.{ext}").read_bytes() == data
    got = srv.api("GET", f"/uploads/{u['uploadId']}", token=srv.token)
    assert got.status == 200 and got.body == data and got.headers["content-type"] == mime
    assert got.headers.get("etag")
    again = srv.api("GET", f"/uploads/{u['uploadId']}", token=srv.token,
                    headers={"If-None-Match": got.headers["etag"]})
    assert again.status == 304


def test_a_rotated_jpeg_reports_its_displayed_dimensions(srv, images):
    rotated = with_exif_orientation(images["jpg"], 6)  # 90 degrees clockwise: 320x240 shows as 240x320
    u = assert_ok(upload(srv, srv.token, rotated), 201)
    assert (u["width"], u["height"]) == (240, 320)


def test_the_same_image_twice_is_stored_once(srv, images):
    first = assert_ok(upload(srv, srv.token, images["png"], type_="start"), 201)
    before = files_of(srv)
    second = assert_ok(upload(srv, srv.token, images["png"], type_="end", filename="again.png"), 200)
    assert second["uploadId"] == first["uploadId"] and second["filePath"] == first["filePath"]
    assert second["duplicate"] is True and files_of(srv) == before
    listed = assert_ok(srv.api("GET", "/uploads", token=srv.token))["uploads"]
    assert [u["uploadId"] for u in listed] == [first["uploadId"]]


# -- refused -------------------------------------------------------------------------------------

def refused(srv, r, status, field=None, words=()):
    assert r.status == status, (r.status, r.body)
    err = error_of(r)
    if field is not None:
        assert err.get("field") == field, err
    for w in words:
        assert w in err["message"], err
    return err


@pytest.mark.parametrize("case", ["text", "gif", "truncated_png", "trailing_png", "huge_header", "tiny", "empty"])
def test_what_is_not_a_whole_accepted_image_is_refused_and_leaves_no_file(srv, images, case):
    before = files_of(srv)
    png = images["png"]
    data, status, words = {
        "text": (b"just some text, not an image\n" * 20, 415, ["JPEG, PNG or WebP"]),
        "gif": (images["gif"], 415, ["GIF"]),
        "truncated_png": (png[:len(png) // 2], 422, ["PNG"]),
        "trailing_png": (png + b"garbage after the end", 422, ["PNG"]),
        "huge_header": (png_header_only(50000, 50000), 422, ["50000"]),
        "tiny": (ffmpeg_image(srv.workdir / "tiny.png", size="16x16"), 422, ["16"]),
        "empty": (b"", 422, ["empty"]),
    }[case]
    r = upload(srv, srv.token, data, filename="photo.jpg", content_type="image/jpeg")
    refused(srv, r, status, "file", words)
    assert files_of(srv) == before


def test_a_file_over_10_mb_is_refused_as_it_arrives(srv):
    before = files_of(srv)
    r = upload(srv, srv.token, b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024 - 2))  # 10 MB + 1 byte
    refused(srv, r, 413, "file", ["10 MB"])
    assert files_of(srv) == before


def test_a_body_announced_over_the_limit_is_refused_before_it_is_sent(srv):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    try:
        s.sendall((f"POST {PREFIX}/upload-image HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {srv.token}\r\n"
                   f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                   f"Content-Length: {20 * 1024 * 1024}\r\n\r\n").encode())
        data = s.recv(65536)
    finally:
        s.close()
    assert data.startswith(b"HTTP/1.1 413"), data
    assert b"10 MB" in data


def test_a_stranger_is_refused_before_the_body_is_read(srv):
    # A large body without a valid token: 401 on the head alone, nothing past it is read.
    for auth in ["", "Authorization: Bearer not-a-token\r\n"]:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        try:
            s.sendall((f"POST {PREFIX}/upload-image HTTP/1.1\r\nHost: x\r\n{auth}"
                       f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                       f"Content-Length: {9 * 1024 * 1024}\r\n\r\n").encode())
            data = s.recv(65536)
        finally:
            s.close()
        assert data.startswith(b"HTTP/1.1 401"), data


@pytest.mark.parametrize("case", ["not_multipart", "no_file", "bad_type", "no_close", "two_files"])
def test_forms_that_are_not_as_the_route_takes_them_are_refused(srv, images, case):
    before = files_of(srv)
    if case == "not_multipart":
        r = srv.api("POST", "/upload-image", token=srv.token, raw=images["jpg"], content_type="image/jpeg")
        refused(srv, r, 415, None, ["multipart/form-data"])
    elif case == "no_file":
        r = upload(srv, srv.token, None)
        refused(srv, r, 422, "file")
    elif case == "bad_type":
        r = upload(srv, srv.token, images["jpg"], type_="middle")
        refused(srv, r, 422, "type", ["start or end"])
    elif case == "no_close":
        body = form(images["jpg"])[:-len(f"--{BOUNDARY}--\r\n")]
        r = srv.api("POST", "/upload-image", token=srv.token, raw=body,
                    content_type=f"multipart/form-data; boundary={BOUNDARY}")
        refused(srv, r, 400)
    else:
        body = form(images["jpg"]).replace(f"--{BOUNDARY}--\r\n".encode(), b"") + \
            form(images["png"], type_=None)
        r = srv.api("POST", "/upload-image", token=srv.token, raw=body,
                    content_type=f"multipart/form-data; boundary={BOUNDARY}")
        refused(srv, r, 422, "file", ["one file"])
    assert files_of(srv) == before


def test_the_quota_refuses_with_the_numbers_and_keeps_nothing(make_server, images, tmp_path):
    s = make_server(extra_env={"VIDGEN_UPLOAD_QUOTA_MB": "1"})
    token = s.admin_token
    big = ffmpeg_image(tmp_path / "noise.png", size="400x400", source="nullsrc",
                       extra=["-vf", "geq=random(1)*255:random(1)*255:random(1)*255"])
    assert 400_000 < len(big) < 700_000, len(big)
    assert_ok(upload(s, token, big), 201)
    other = ffmpeg_image(tmp_path / "noise2.png", size="420x400", source="nullsrc",
                         extra=["-vf", "geq=random(1)*255:random(1)*255:random(1)*255"])
    before = files_of(s)
    err = refused(s, upload(s, token, other), 413, "file", ["MB of your 1 MB"])
    assert files_of(s) == before, err
    # The same image again is no new storage: it is accepted.
    assert_ok(upload(s, token, big), 200)


# -- ownership -----------------------------------------------------------------------------------

def test_uploads_are_their_owners_only(srv, images):
    other = srv.add_user("other-uploader")
    mine = assert_ok(upload(srv, srv.token, images["webp"]), 201)
    for path in [f"/uploads/{mine['uploadId']}"]:
        assert srv.api("GET", path, token=other).status == 404
        assert srv.api("DELETE", path, token=other).status == 404
    assert assert_ok(srv.api("GET", "/uploads", token=other))["uploads"] == []
    # The other user uploading the same image gets an upload of their own.
    theirs = assert_ok(upload(srv, other, images["webp"]), 201)
    assert theirs["uploadId"] != mine["uploadId"] and theirs["filePath"] != mine["filePath"]


def test_uploads_are_listed_newest_first_in_pages(srv, images, tmp_path):
    ids = []
    for i in range(5):
        data = ffmpeg_image(tmp_path / f"p{i}.png", size=f"{100 + i}x100")
        ids.append(assert_ok(upload(srv, srv.token, data), 201)["uploadId"])
    page = assert_ok(srv.api("GET", "/uploads?limit=2", token=srv.token))
    assert [u["uploadId"] for u in page["uploads"]] == ids[::-1][:2] and page["nextCursor"] == ids[3]
    rest = assert_ok(srv.api("GET", f"/uploads?limit=10&before={page['nextCursor']}", token=srv.token))
    assert [u["uploadId"] for u in rest["uploads"]] == ids[::-1][2:] and rest["nextCursor"] is None
    assert srv.api("GET", "/uploads?limit=0", token=srv.token).status == 422


def test_deleting_an_upload_removes_its_file(srv, images):
    u = assert_ok(upload(srv, srv.token, images["other_png"]), 201)
    user_id = u["filePath"].split("/")[3]
    path = srv.data_dir / "uploads" / user_id / f"{u['sha256']}.png"
    assert path.exists()
    assert_ok(srv.api("DELETE", f"/uploads/{u['uploadId']}", token=srv.token))
    assert not path.exists()
    assert srv.api("GET", f"/uploads/{u['uploadId']}", token=srv.token).status == 404
    assert srv.api("DELETE", f"/uploads/{u['uploadId']}", token=srv.token).status == 404
