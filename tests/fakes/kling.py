"""A fake Kling AI video API that keeps to Kling's contract (shared/providers/kling.md).

The base URL is the host root: KLING_BASE_URL=http://127.0.0.1:PORT.  Every call carries
`Authorization: Bearer <JWT>`, an HS256 token signed with the secret key whose `iss` is the
access key (§1); the fake checks the signature, `nbf` and `exp`.  A task is created with
POST /v1/videos/text2video or /v1/videos/image2video and followed with
GET /v1/videos/{family}/{task_id}; GET /v1/videos/{family}?pageNum&pageSize lists the newest.
Every reply is the envelope {code, message, request_id, data?}; the end of a task is POSTed,
as the bare task object, to the submit's `callback_url`.

    with KlingFake(polls=1) as fake:
        fake.plan(end="failed")                      # the next task fails
        fake.script("submit", error(429, 1302))      # a rate limit, then normal answers
        [sent] = fake.requests("submit")
        claims = fake.claims(sent)                   # the JWT's payload

Request kinds: "submit", "poll", "list", "video", "unknown".

Command: python3 tests/fakes/kling.py --port N [--polls N] [--end failed] ...
"""

import base64
import dataclasses
import hashlib
import hmac
import itertools
import json
import re
import time
import uuid

import common
from common import is_json, json_reply

ACCESS_KEY = "AkFakeKlingAccessKey0001"
SECRET_KEY = "SkFakeKlingSecretKey-0001/+="
T2V, I2V = "/v1/videos/text2video", "/v1/videos/image2video"
MODELS = {"kling-v1", "kling-v1-6", "kling-v2-master", "kling-v2-1", "kling-v2-1-master",
          "kling-v2-5-turbo", "kling-v2-6", "kling-v3"}
ENDS = ("success", "no_video", "failed", "rejected", "never")
MESSAGES = {"failed": "Video generation failed, please try again later",
            "rejected": "Failure to pass the risk control system"}
_ids = itertools.count(822953089408827433)


# -- the envelope and Kling's error codes (§5), for script() ------------------------------------

def envelope(status, code, message, data=None, headers=None):
    body = {"code": code, "message": message, "request_id": str(uuid.uuid4())}
    if data is not None:
        body["data"] = data
    return json_reply(status, body, headers)


ERRORS = {  # code → (HTTP status, message)
    1000: (401, "Authentication failed"), 1001: (401, "Authorization is empty"),
    1002: (401, "Authorization is invalid"), 1003: (401, "Authorization is not yet valid"),
    1004: (401, "Authorization has expired"), 1100: (429, "Account exception"),
    1101: (429, "Account in arrears"), 1102: (429, "Resource pack depleted or expired"),
    1103: (403, "Unauthorized access to requested resource"), 1200: (400, "Invalid request parameters"),
    1201: (400, "Invalid parameters"), 1202: (404, "Invalid request method"),
    1203: (404, "Requested resource does not exist"), 1300: (400, "Trigger platform strategy"),
    1301: (400, "Trigger the content security policy"), 1302: (429, "API request too fast"),
    1303: (429, "parallel task over resource pack limit"), 1304: (429, "Trigger the IP whitelisting"),
    5000: (500, "Server internal error"), 5001: (503, "Server temporarily unavailable"),
    5002: (504, "Server internal timeout"),
}


def error(code, message=None, headers=None):
    """Kling's error envelope for `code`, with its HTTP status (§5)."""
    status, default = ERRORS[code]
    return envelope(status, code, message or default, headers=headers)


# -- tokens (§1) --------------------------------------------------------------------------------

def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(access=ACCESS_KEY, secret=SECRET_KEY, now=None, exp=1800, nbf=-5, alg="HS256"):
    """A token as Kling's docs build it (for tests): exp and nbf relative to `now`."""
    now = int(time.time() if now is None else now)
    head = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = _b64(json.dumps({"iss": access, "exp": now + exp, "nbf": now + nbf}).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def decode_token(token):
    """(header, claims) of a token, unchecked; ValueError when it is not one."""
    head, body, _ = token.split(".")
    return json.loads(_unb64(head)), json.loads(_unb64(body))


@dataclasses.dataclass
class Job(common.Job):
    family: str = T2V
    external_task_id: str = None
    name: str = ""
    updated_wall: float = None


class KlingFake(common.FakeServer):
    """The fake.  `keys`: accepted access keys, each signing with `secret`.  Other keyword
    arguments are the default Plan of every task."""
    ENDS = ENDS
    server_header = "fake-kling"

    def __init__(self, keys=(ACCESS_KEY,), secret=SECRET_KEY, **kw):
        super().__init__(keys, **kw)
        self.secret = secret
        self._names = {}
        family = r"/v1/videos/(?P<family>text2video|image2video)"
        self.routes = [
            ("POST", re.compile(family), "submit", self._submit),
            ("GET", re.compile(family), "list", self._list),
            ("GET", re.compile(family + r"/(?P<task_id>[^/]+)"), "poll", self._poll),
            ("GET", re.compile(r"/kcdn/(?P<name>[^/]+)\.mp4"), "video", self._video),
        ]

    @property
    def base_url(self):
        """What KLING_BASE_URL should be."""
        return self.origin

    def claims(self, req):
        """The claims of the token a recorded request carried."""
        return decode_token(req.headers.get("Authorization", "").partition(" ")[2])[1]

    # -- endpoints -----------------------------------------------------------------------------
    def _submit(self, req, family):
        key, refusal = self._authorize(req)
        refusal = refusal or self._invalid(req, f"/v1/videos/{family}")
        if refusal:
            return refusal
        for field in ("image", "image_tail"):
            url = req.json.get(field)
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                fetched = self._fetch_image(url)
                if fetched.status != 200:
                    return error(1201, f"{field} download failed (HTTP {fetched.status})")
        job = Job(id=str(next(_ids)), key=key, plan=self._next_plan(), request=req.json,
                  webhook=req.json.get("callback_url"), family=f"/v1/videos/{family}",
                  external_task_id=req.json.get("external_task_id"), name=uuid.uuid4().hex)
        self._names[job.name] = job
        self._add_job(job)
        return envelope(200, 0, "SUCCEED", self._task(job))

    def _poll(self, req, family, task_id):
        key, refusal = self._authorize(req)
        if refusal:
            return refusal
        job = self.job(task_id)
        if job is None or job.key != key or job.family != f"/v1/videos/{family}":
            return error(1203, "task not found")
        self._advance(job)
        return envelope(200, 0, "SUCCEED", self._task(job))

    def _list(self, req, family):
        key, refusal = self._authorize(req)
        if refusal:
            return refusal
        page, size = req.query.get("pageNum", "1"), req.query.get("pageSize", "30")
        if not (page.isdigit() and size.isdigit() and int(page) >= 1 and 1 <= int(size) <= 500):
            return error(1201, "pageNum or pageSize out of range")
        page, size = int(page), int(size)
        with self.lock:
            tasks = [self._task(j) for j in reversed(self.jobs.values())
                     if j.key == key and j.family == f"/v1/videos/{family}"]
        return envelope(200, 0, "SUCCEED", tasks[(page - 1) * size: page * size])

    def _video(self, req, name):
        job = self._names.get(name)
        return self._video_reply(job is not None and job.ended and job.plan.end == "success")

    def _not_found(self, req):
        return error(1202, "Invalid request path")

    def _method_not_allowed(self, req):
        return error(1202, "Invalid request method")

    # -- checks --------------------------------------------------------------------------------
    def _authorize(self, req):
        """(access key, None) for a valid token, else (None, the 401 with Kling's code)."""
        header = req.headers.get("Authorization")
        if not header:
            return None, error(1001)
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or token.count(".") != 2:
            return None, error(1002)
        try:
            head, claims = decode_token(token)
        except (ValueError, TypeError):
            return None, error(1002)
        signing, _, sig = token.rpartition(".")
        want = _b64(hmac.new(self.secret.encode(), signing.encode(), hashlib.sha256).digest())
        if (not isinstance(head, dict) or head.get("alg") != "HS256" or not isinstance(claims, dict)
                or not hmac.compare_digest(sig, want) or claims.get("iss") not in self.keys):
            return None, error(1000)
        now = time.time()
        if not isinstance(claims.get("nbf"), int) or claims["nbf"] > now:
            return None, error(1003)
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= now:
            return None, error(1004)
        return claims["iss"], None

    def _invalid(self, req, family):
        """400/1201 for a body Kling refuses (§7.3), or None."""
        body = req.json
        if not is_json(req) or not isinstance(body, dict):
            return error(1200, "request body is not a JSON object")
        for field, allowed in (("duration", ("5", "10")), ("mode", ("std", "pro"))):
            if field in body and body[field] not in allowed:
                return error(1201, f"{field} must be one of {', '.join(allowed)} as a string")
        if body.get("model_name", "kling-v1") not in MODELS:
            return error(1201, f"model_name {body.get('model_name')!r} is not supported")
        texts = [body.get(f) for f in ("prompt", "negative_prompt") if f in body]
        if any(not isinstance(t, str) or len(t) > 2500 for t in texts):
            return error(1201, "prompt and negative_prompt are strings of at most 2500 characters")
        refusal = self._invalid_t2v(body) if family == T2V else self._invalid_i2v(body)
        ext = body.get("external_task_id")
        with self.lock:
            taken = ext is not None and any(j.external_task_id == ext for j in self.jobs.values())
        return refusal or (error(1201, "external_task_id already exists") if taken else None)

    @staticmethod
    def _invalid_t2v(body):
        if not body.get("prompt"):
            return error(1201, "prompt is required")
        if body.get("aspect_ratio", "16:9") not in ("16:9", "9:16", "1:1"):
            return error(1201, "aspect_ratio must be 16:9, 9:16 or 1:1")
        if "image" in body or "image_tail" in body:
            return error(1201, "text2video takes no image")
        return None

    def _invalid_i2v(self, body):
        images = [body.get(f) for f in ("image", "image_tail") if body.get(f) is not None]
        if not images:
            return error(1201, "image and image_tail cannot both be empty")
        if any(not isinstance(i, str) or i.startswith("data:") for i in images):
            return error(1201, "image must be a URL or raw Base64 without a data: prefix")
        if "aspect_ratio" in body:
            return error(1201, "image2video takes no aspect_ratio: the image sets it")
        if "image_tail" in body and "camera_control" in body:
            return error(1201, "image_tail cannot be used with camera_control")
        if ("image_tail" in body and body.get("mode", "std") == "std"
                and body.get("model_name") == "kling-v2-5-turbo"):
            return error(1201, "image_tail is not supported in std mode for kling-v2-5-turbo")
        return None

    # -- tasks ---------------------------------------------------------------------------------
    def _status(self, job):
        if not job.ended:
            return "submitted" if job.polls == 0 else "processing"
        return "succeed" if job.plan.end in ("success", "no_video") else "failed"

    def _task(self, job):
        """The task object (§2, §3), as in `data` and in a callback."""
        with self.lock:
            status = self._status(job)
            created = int(job.created_wall * 1000)
            task = {"task_id": job.id, "task_status": status, "task_status_msg": "",
                    "task_info": ({"external_task_id": job.external_task_id}
                                  if job.external_task_id else {}),
                    "task_result": {}, "created_at": created,
                    "updated_at": int((job.ended_wall or job.created_wall) * 1000)}
            if status == "succeed":
                videos = [] if job.plan.end == "no_video" else [{
                    "id": str(int(job.id) + 1), "duration": "5",
                    "url": self.url(f"/kcdn/{job.name}.mp4?ksSecret=fake&ksTime=1")}]
                task.update(task_result={"videos": videos}, final_unit_deduction="1")
            elif status == "failed":
                task["task_status_msg"] = job.plan.message or MESSAGES[job.plan.end]
        return task

    def _on_end(self, job):
        """The bare task object to the callback_url (§4), `webhooks` times."""
        if job.webhook and job.plan.webhooks:
            self._deliver(job.webhook, lambda: (common.json_bytes(self._task(job)),
                                                {"Content-Type": "application/json"}),
                          times=job.plan.webhooks)


def main():
    parser = common.cli_parser("A fake Kling AI video API on a loopback port.", ACCESS_KEY, ENDS)
    parser.add_argument("--secret", default=SECRET_KEY)
    args = parser.parse_args()
    common.serve_until_signalled(KlingFake(keys=args.key or (ACCESS_KEY,), secret=args.secret,
                                           host=args.host, port=args.port, polls=args.polls,
                                           after=args.after, end=args.end))


if __name__ == "__main__":
    main()
