"""A fake Runway developer API that keeps to Runway's contract (shared/providers/runway.md).

The base URL is the host root: RUNWAY_BASE_URL=http://127.0.0.1:PORT.  Every call carries
`Authorization: Bearer KEY` and `X-Runway-Version: 2024-11-06`; a task is created with
POST /v1/text_to_video or /v1/image_to_video (200 {"id"}), followed with GET /v1/tasks/{id}
and cancelled or deleted with DELETE /v1/tasks/{id} (204).  Runway has no webhooks.

    with RunwayFake(polls=1) as fake:
        fake.plan(end="rejected")                    # the next task fails with SAFETY.INPUT.TEXT
        fake.script("poll", server_error(502))       # one 502, then normal answers
        [sent] = fake.requests("submit")

A task answers PENDING, THROTTLED, then RUNNING (progress 0.2, 0.4, …) to its first `polls`
polls, then ends as planned.  Request kinds: "submit", "poll", "delete", "video", "unknown".

An image must be an https URL on a domain name (§2), except on loopback, which stands for
the tested server's public domain here; it is fetched at the submit (common._fetch_image).

Command: python3 tests/fakes/runway.py --port N [--polls N] [--end rejected] ...
"""

import dataclasses
import datetime
import ipaddress
import re
import uuid
from urllib.parse import urlsplit

import common
from common import is_json, json_reply

KEY = "key_" + "5eed" * 32
VERSION = "2024-11-06"
BAD_VERSION = ("The API version that was provided in the X-Runway-Version header is not valid.")
DOCS = "https://docs.dev.runwayml.com/api"
T2V, I2V = "/v1/text_to_video", "/v1/image_to_video"
GEN4_RATIOS = ("1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672")
# model → the ratios it takes from text (None: no text to video) and from an image (§2).
MODELS = {
    "gen4_turbo": (None, GEN4_RATIOS),
    "gen4.5": (("1280:720", "720:1280"), GEN4_RATIOS),
}
RETIRED = {"gen3a_turbo"}      # removed from the API in 2026 (§5)
ENDS = ("success", "no_video", "failed", "rejected", "never")
DEFAULT_CODES = {"failed": "INTERNAL.BAD_OUTPUT.CODE01", "rejected": "SAFETY.INPUT.TEXT"}
MESSAGES = {"failed": "An unexpected error occurred.",
            "rejected": "The input text was flagged by our content moderation."}
DEFAULT = object()


# -- replies in Runway's error shapes, for script() ---------------------------------------------

def error(status, message, headers=None, **fields):
    return json_reply(status, {"error": message, **fields}, headers)


def rate_limited(retry_after=2, header=True):
    """The 429 of the daily generation cap; Retry-After only when header=True (undocumented)."""
    headers = {"Retry-After": str(retry_after)} if header and retry_after is not None else None
    return error(429, "You have exceeded your daily task limit.", headers)


def server_error(status=502, html=False):
    """Load shedding (502, 503) or overload (504); html=True: a proxy's HTML page."""
    if html:
        return common.html_page(status)
    return error(status, "The service is temporarily overloaded. Please try again later.")


def no_credits():
    return error(400, "You do not have enough credits to run this task.")


def _validation(path, message, code="invalid_value"):
    return error(400, "Validation of body failed",
                 issues=[{"code": code, "path": [path], "message": message}], docUrl=DOCS)


@dataclasses.dataclass
class Plan(common.Plan):
    failure_code: object = DEFAULT   # FAILED's failureCode: DEFAULT by end, None → null, "" → absent
    progress: bool = True            # RUNNING carries `progress`


@dataclasses.dataclass
class Job(common.Job):
    kind: str = T2V
    name: str = ""
    deleted: bool = False
    cancelled: bool = False


def _iso(wall):
    return datetime.datetime.fromtimestamp(wall, datetime.timezone.utc).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def _utf16_len(text):
    return len(text.encode("utf-16-le")) // 2


def _image_problem(url):
    """Why Runway would refuse this promptImage (§2), or None."""
    if not isinstance(url, str) or not url:
        return "Invalid input: expected string"
    if url.startswith("data:image/"):
        return None
    parts = urlsplit(url)
    if parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return None                 # the tested server, standing in for its public domain
    if parts.scheme != "https":
        return "Only HTTPS URLs are allowed."
    try:
        ipaddress.ip_address(parts.hostname or "")
        return "URLs with IP addresses are not allowed."
    except ValueError:
        pass
    return "URL is too long." if len(url) > 2048 else None


class RunwayFake(common.FakeServer):
    """The fake.  `keys`: the accepted API keys (`key` is the first).  Other keyword
    arguments are the default Plan of every task."""
    ENDS = ENDS
    server_header = "fake-runway"

    def __init__(self, keys=(KEY,), **kw):
        super().__init__(keys, **kw)
        self._names = {}
        task = re.compile(r"/v1/tasks/(?P<task_id>[^/]+)")
        self.routes = [
            ("POST", re.compile(re.escape(T2V)), "submit", self._submit),
            ("POST", re.compile(re.escape(I2V)), "submit", self._submit),
            ("GET", task, "poll", self._poll),
            ("DELETE", task, "delete", self._delete),
            ("GET", re.compile(r"/cdn/(?P<name>[^/]+)\.mp4"), "video", self._video),
        ]

    @property
    def base_url(self):
        """What RUNWAY_BASE_URL should be."""
        return self.origin

    def _plan_class(self):
        return Plan

    # -- endpoints -----------------------------------------------------------------------------
    def _submit(self, req):
        key, refusal = self._authorize(req)
        refusal = refusal or self._invalid(req)
        if refusal:
            return refusal
        image = req.json.get("promptImage")
        if isinstance(image, str) and image.startswith(("http://", "https://")):
            fetched = self._fetch_image(image)
            if fetched.status != 200:
                return _validation("promptImage", f"Failed to fetch asset (HTTP {fetched.status}).")
        job = Job(id=str(uuid.uuid4()), key=key, plan=self._next_plan(), request=req.json,
                  kind=req.path, name=uuid.uuid4().hex)
        self._names[job.name] = job
        self._add_job(job)
        return json_reply(200, {"id": job.id})

    def _poll(self, req, task_id):
        job, refusal = self._own_task(req, task_id)
        if refusal:
            return refusal
        before = job.polls
        self._advance(job)
        return json_reply(200, self._task_body(job, before))

    def _delete(self, req, task_id):
        job, refusal = self._own_task(req, task_id)
        if refusal:
            return refusal
        with self.lock:
            job.cancelled = not job.ended
            job.deleted = True
        if job.cancelled:
            self._end(job)
        return common.Reply(204)

    def _video(self, req, name):
        job = self._names.get(name)
        return self._video_reply(job is not None and job.ended and job.plan.end == "success"
                                 and not job.cancelled)

    def _not_found(self, req):
        return error(404, "Not found")

    def _method_not_allowed(self, req):
        return error(405, "Method not allowed")

    def _on_end(self, job):
        """Runway has no webhooks."""

    # -- checks --------------------------------------------------------------------------------
    def _authorize(self, req):
        scheme, _, token = req.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or token.strip() not in self.keys:
            return None, error(401, "Invalid API key or API key is disabled.")
        if req.headers.get("X-Runway-Version") != VERSION:
            return None, error(400, BAD_VERSION, docUrl=DOCS)
        return token.strip(), None

    def _own_task(self, req, task_id):
        key, refusal = self._authorize(req)
        if refusal:
            return None, refusal
        job = self.job(task_id)
        if job is None or job.key != key or job.deleted:
            return None, error(404, "Task not found")
        return job, None

    def _invalid(self, req):
        """The 400 (zod's shape) for a body the endpoint does not take (§2, §6)."""
        body = req.json
        if not is_json(req) or not isinstance(body, dict):
            return _validation("body", "Invalid input: expected object", "invalid_type")
        model = body.get("model")
        text_ratios, image_ratios = MODELS.get(model, (None, None))
        image = req.path == I2V
        if model in RETIRED or model not in MODELS or (not image and text_ratios is None):
            return _validation("model", f"Invalid input: {model!r} is not a model of this endpoint",
                               "invalid_union")
        prompt = body.get("promptText")
        if prompt is not None and (not isinstance(prompt, str) or not prompt
                                   or _utf16_len(prompt) > 1000):
            return _validation("promptText", "Too big: expected string to have <=1000 characters",
                               "too_big")
        if prompt is None and model == "gen4.5":
            return _validation("promptText", "Invalid input: expected string", "invalid_type")
        if body.get("ratio") not in (image_ratios if image else text_ratios):
            return _validation("ratio", "Invalid option: expected one of "
                               + "|".join(f'"{r}"' for r in (image_ratios if image else text_ratios)))
        duration = body.get("duration")
        if (duration is None and model == "gen4.5") or (duration is not None and (
                type(duration) is not int or not 2 <= duration <= 10)):
            return _validation("duration", "Invalid input: expected an integer from 2 to 10",
                               "invalid_type")
        if image and (problem := _image_problem(body.get("promptImage"))):
            return _validation("promptImage", problem)
        if not image and "promptImage" in body:
            return _validation("promptImage", "Unrecognized key: \"promptImage\"", "unrecognized_keys")
        return None

    # -- tasks ---------------------------------------------------------------------------------
    def _task_body(self, job, polls_before):
        with self.lock:
            body = {"id": job.id, "createdAt": _iso(job.created_wall)}
            if job.cancelled:
                return {**body, "status": "CANCELLED"}
            if not job.ended:
                status = ("PENDING", "THROTTLED")[polls_before] if polls_before < 2 else "RUNNING"
                body["status"] = status
                if status == "RUNNING" and job.plan.progress:
                    body["progress"] = round(min(0.9, 0.2 * (polls_before - 1)), 2)
                return body
            if job.plan.end in ("success", "no_video"):
                output = [] if job.plan.end == "no_video" else [self.url(
                    f"/cdn/{job.name}.mp4?_jwt=fake.{job.name}")]
                return {**body, "status": "SUCCEEDED", "output": output}
            body.update(status="FAILED", failure=job.plan.message or MESSAGES[job.plan.end])
            code = job.plan.failure_code
            if code is DEFAULT:
                body["failureCode"] = DEFAULT_CODES[job.plan.end]
            elif code != "":
                body["failureCode"] = code
            return body


def main():
    parser = common.cli_parser("A fake Runway developer API on a loopback port.", KEY, ENDS)
    args = parser.parse_args()
    common.serve_until_signalled(RunwayFake(keys=args.key or (KEY,), host=args.host,
                                            port=args.port, polls=args.polls, after=args.after,
                                            end=args.end))


if __name__ == "__main__":
    main()
