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
from pipeline import balance, generate, make_project, wait_for

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
    big = ffmpeg_image(tmp_path / "noise.png", size="500x500", source="nullsrc",
                       extra=["-vf", "geq=random(1)*255:random(1)*255:random(1)*255"])
    assert 600_000 < len(big) < 900_000, len(big)
    assert_ok(upload(s, token, big), 201)
    other = ffmpeg_image(tmp_path / "noise2.png", size="480x500", source="nullsrc",
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
        data = ffmpeg_image(tmp_path / f"p{i}.png", size=f"{100 + 2 * i}x100")
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


# -- generations from images ----------------------------------------------------------------------

SMALL = (32, 18)  # frames and images are compared at this size (16:9, like the video)


def small_rgb_of_image(path, tmp):
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vf", f"scale={SMALL[0]}:{SMALL[1]}",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True, timeout=60)
    return out.stdout


def small_rgb_frames(video_bytes, tmp):
    path = tmp / "video.mp4"
    path.write_bytes(video_bytes)
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vf", f"scale={SMALL[0]}:{SMALL[1]}",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True, timeout=60)
    n = SMALL[0] * SMALL[1] * 3
    frames = [out.stdout[i:i + n] for i in range(0, len(out.stdout), n)]
    return frames[0], frames[-1]


def mad(a, b):
    """Mean absolute difference of two RGB byte strings of one size."""
    assert len(a) == len(b) and a
    return sum(abs(x - y) for x, y in zip(a, b)) / len(a)


@pytest.fixture
def gen_srv(make_server):
    s = make_server()
    s.token = s.admin_token
    s.project = make_project(s, s.token)
    return s


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    """Two 16:9 images (so the video shows them whole) and their small RGB pictures."""
    d = tmp_path_factory.mktemp("wide")
    start, end = d / "start.png", d / "end.jpg"
    ffmpeg_image(start, size="640x360", source="testsrc2")
    ffmpeg_image(end, size="640x360", source="smptebars", extra=["-q:v", "2"])
    return {"start": start.read_bytes(), "end": end.read_bytes(),
            "start_rgb": small_rgb_of_image(start, d), "end_rgb": small_rgb_of_image(end, d)}


def video_of(s, gen_id):
    r = s.api("GET", f"/generations/{gen_id}/video", token=s.token)
    assert r.status == 200, r
    return r.body


BOUND = 16  # mean absolute difference (0-255) under which a frame "is" the image


def test_a_start_image_opens_the_video(gen_srv, wide, tmp_path):
    s = gen_srv
    u = assert_ok(upload(s, s.token, wide["start"]), 201)
    before = balance(s, s.token)
    g = assert_ok(generate(s, s.token, s.project, startImagePath=u["filePath"], duration=2), 201)["generation"]
    assert before - balance(s, s.token) == 12  # 10 + 20 % for a start image
    done = wait_for(s, s.token, g["id"])
    assert done["status"] == "completed", done
    first, last = small_rgb_frames(video_of(s, g["id"]), tmp_path)
    assert mad(first, wide["start_rgb"]) < BOUND, mad(first, wide["start_rgb"])
    assert mad(wide["start_rgb"], wide["end_rgb"]) > 3 * BOUND  # the two images are far apart
    got = assert_ok(s.api("GET", f"/generations/{g['id']}", token=s.token))["generation"]
    assert got["startImagePath"] == u["filePath"]
    s.check_ledger()


def test_start_and_end_images_cross_fade_from_one_to_the_other(gen_srv, wide, tmp_path):
    s = gen_srv
    a = assert_ok(upload(s, s.token, wide["start"]), 201)
    b = assert_ok(upload(s, s.token, wide["end"], type_="end"), 201)
    before = balance(s, s.token)
    g = assert_ok(generate(s, s.token, s.project, startImageId=a["uploadId"], endImageId=b["uploadId"],
                           duration=2), 201)["generation"]
    assert before - balance(s, s.token) == 14  # +40 % for both
    assert wait_for(s, s.token, g["id"])["status"] == "completed"
    first, last = small_rgb_frames(video_of(s, g["id"]), tmp_path)
    assert mad(first, wide["start_rgb"]) < BOUND, mad(first, wide["start_rgb"])
    assert mad(last, wide["end_rgb"]) < BOUND, mad(last, wide["end_rgb"])


@pytest.mark.parametrize("field,value", [
    ("startImagePath", "../../data/vidgen.db"),
    ("startImagePath", "/etc/passwd"),
    ("startImagePath", "/uploads/video-generator/../../vidgen.db"),
    ("startImageId", "not-an-id"),
    ("startImageId", "01J0000000000000000000000A"),
    ("endImagePath", "/uploads/video-generator/x/y.png"),
])
def test_images_that_are_not_the_callers_uploads_are_refused_before_any_charge(gen_srv, wide, field, value):
    s = gen_srv
    assert_ok(upload(s, s.token, wide["start"]), 201)
    before = balance(s, s.token)
    fields = {field: value}
    if field.startswith("end"):
        fields["startImageId"] = assert_ok(upload(s, s.token, wide["start"]), 200)["uploadId"]
    r = generate(s, s.token, s.project, **fields)
    refused(s, r, 422, field, ["no uploaded image of yours"])
    assert balance(s, s.token) == before
    assert assert_ok(s.api("GET", "/generations", token=s.token))["generations"] == []


def test_another_users_upload_is_not_found_by_path_or_id(gen_srv, wide):
    s = gen_srv
    theirs = assert_ok(upload(s, s.token, wide["start"]), 201)
    other = s.add_user("second", credits=100)
    project = make_project(s, other)
    for fields in [{"startImagePath": theirs["filePath"]}, {"startImageId": theirs["uploadId"]}]:
        r = generate(s, other, project, **fields)
        refused(s, r, 422, next(iter(fields)), ["no uploaded image of yours"])
    assert balance(s, other) == 100


def test_an_image_on_a_model_without_image_input_is_refused_naming_the_field(gen_srv, wide):
    s = gen_srv
    u = assert_ok(upload(s, s.token, wide["start"]), 201)
    before = balance(s, s.token)
    r = generate(s, s.token, s.project, modelId="wan2.2-t2v", startImageId=u["uploadId"], duration=5)
    refused(s, r, 422, "startImageId", ["does not take a start image"])
    assert balance(s, s.token) == before


def test_an_upload_in_use_cannot_be_deleted_and_a_finished_generation_keeps_its_image(gen_srv, wide):
    s = gen_srv
    u = assert_ok(upload(s, s.token, wide["start"]), 201)
    path = s.data_dir / "uploads" / u["filePath"].split("/")[3] / f"{u['sha256']}.png"
    g = assert_ok(generate(s, s.token, s.project, startImageId=u["uploadId"], duration=3), 201)["generation"]
    # A 3 s clip takes far longer to render than this request: the generation is pending or
    # processing, and uses the image.
    r = s.api("DELETE", f"/uploads/{u['uploadId']}", token=s.token)
    refused(s, r, 409, None, ["generation"])
    assert wait_for(s, s.token, g["id"])["status"] == "completed"
    assert_ok(s.api("DELETE", f"/uploads/{u['uploadId']}", token=s.token))
    assert path.exists(), "the finished generation's image was removed with its upload"
    assert_ok(s.api("DELETE", f"/generations/{g['id']}", token=s.token))
    assert not path.exists(), "the image outlived the upload and every generation"
