"""A fake ModelsLab video API that keeps to ModelsLab's contract (shared/providers/modelslab.md).

The base URL includes /api, as https://modelslab.com/api does:
MODELSLAB_BASE_URL=http://127.0.0.1:PORT/api.  Every API call is a POST with a JSON body that
carries the `key`; replies share one shape whatever the state (§2).

    with ModelsLabFake(polls=1) as fake:
        fake.plan(end="failed", polls=3)          # the next job fails on its 4th poll
        fake.script("submit", rate_limited(30))   # the next submit gets a 429
        fake.script("poll", common.Reset())       # the next poll's connection is reset
        ...                                       # point vidgen at fake.base_url
        [sent] = fake.requests("submit", method="POST")

Request kinds, for script() and requests(): "submit" (the six generation endpoints), "poll"
(the v6 and v7 fetch endpoints), "video" (the result files), "unknown".

Command: python3 tests/fakes/modelslab.py --port N [--polls N] [--end failed] [--instant] ...
"""

import dataclasses
import itertools
import math
import re
import uuid
from functools import partial

import common
from common import is_json, json_reply, json_type

KEY = "ml-test-key"

# Submit paths → (family, whether the source image `init_image` is required).
SUBMITS = {
    "/api/v6/video/text2video": ("v6", False),
    "/api/v6/video/text2video_ultra": ("v6", False),
    "/api/v6/video/img2video": ("v6", True),
    "/api/v6/video/img2video_ultra": ("v6", True),
    "/api/v7/video-fusion/text-to-video": ("v7", False),
    "/api/v7/video-fusion/image-to-video": ("v7", True),
}
FETCH = {"v6": "/api/v6/video/fetch/", "v7": "/api/v7/video-fusion/fetch/"}

# The documented fields and their JSON types (§2).  Others are ignored, as ModelsLab does.
FIELDS = {
    "v6": {"model_id": {"string"}, "prompt": {"string"}, "negative_prompt": {"string", "null"},
           "seed": {"integer", "null"}, "resolution": {"integer"}, "num_frames": {"integer"},
           "num_inference_steps": {"integer"}, "guidance_scale": {"number", "integer"},
           "fps": {"integer"}, "portrait": {"boolean"}, "sample_shift": {"number", "integer"},
           "temp": {"boolean"}, "webhook": {"string"}, "track_id": {"string"},
           "init_image": {"string"}, "base64": {"boolean"}},
    "v7": {"model_id": {"string"}, "prompt": {"string"}, "aspect_ratio": {"string"},
           "duration": {"string"}, "generate_audio": {"boolean"},
           "negative_prompt": {"string", "null"}, "enhance_prompt": {"boolean"},
           "resolution": {"string"}, "init_audio": {"string"}, "init_image": {"string"},
           "camera_fixed": {"boolean"}, "webhook": {"string"}, "track_id": {"string"}},
}
# model_id values the v7 endpoints know (§3); v6 falls back to wan2.2 for any value.
V7_MODELS = frozenset({"veo3", "veo2", "veo-3.0-fast-generate", "veo-3.1", "veo-3.1-fast",
                       "seedance-t2v", "seedance-i2v", "wan2.2"})

ENDS = ("success", "no_video", "error", "failed", "rejected", "never")
MESSAGES = {
    "error": "Video generation failed, please try again",
    "failed": "Video generation failed",
    "rejected": "Your prompt was rejected by the safety checker: NSFW content detected",
}
QUEUE_FULL = "Rate limit exceeded. Maximum 5 queued requests allowed."
REQUEST_NOT_FOUND = {"status": "failed", "id": "", "message": "Request not found", "output": "",
                     "tip": "The request id is wrong or the request has expired"}


# -- replies in ModelsLab's error shape, for script() -------------------------------------------

def error(status, message, headers=None, messege=False, **fields):
    """{"status":"error","message":...} with HTTP `status`; `fields` adds tip, retry_after...;
    messege=True spells the key as legacy bodies do."""
    return json_reply(status, {"status": "error", "messege" if messege else "message": message,
                               **fields}, headers)


def rate_limited(retry_after=30, header=False, message=QUEUE_FULL):
    """A 429.  `retry_after` (seconds) goes in the body field, as ModelsLab documents; None
    leaves it out.  header=True also sends it as a Retry-After header."""
    fields = {} if retry_after is None else {"retry_after": retry_after}
    headers = {"Retry-After": str(math.ceil(retry_after))} if header and fields else None
    return error(429, message, headers, **fields)


def server_error(status=500):
    return error(status, common.HTTPStatus(status).phrase)


def no_credits():
    return error(402, "Insufficient balance, please recharge your wallet")


# -- jobs --------------------------------------------------------------------------------------

@dataclasses.dataclass
class Plan(common.Plan):
    instant: bool = False      # the submit answers with the end itself (no poll needed)
    eta: float = 0.5           # seconds, sent as a JSON float
    string_id: bool = False    # "id" as a string in submit and fetch replies
    messege: bool = False      # "messege" instead of "message" in this job's replies


@dataclasses.dataclass
class Job(common.Job):
    family: str = "v6"
    name: str = ""             # the result file's name
    track_id: str = None


def _dress(body, plan):
    """The variants a plan asks for: a string id, the legacy "messege" spelling."""
    if plan.string_id and "id" in body:
        body["id"] = str(body["id"])
    if plan.messege:
        body = {("messege" if k == "message" else k): v for k, v in body.items()}
    return body


class ModelsLabFake(common.FakeServer):
    """The fake.  `keys`: the accepted API keys (`key` is the first).  `queue_limit`: jobs a
    key may have unfinished before a submit gets 429 (None: no limit).  `auth_error_http`:
    the HTTP status of a key refusal (401, or 200 as ModelsLab sometimes does).
    `v7_webhooks`: whether v7 submits' `webhook` is called (undocumented, so off).
    Other keyword arguments are the default Plan of every job."""
    ENDS = ENDS
    server_header = "fake-modelslab"

    def __init__(self, keys=(KEY,), queue_limit=5, auth_error_http=401, v7_webhooks=False,
                 v7_models=V7_MODELS, **kw):
        super().__init__(keys, **kw)
        self.queue_limit = queue_limit
        self.auth_error_http = auth_error_http
        self.v7_webhooks = v7_webhooks
        self.v7_models = frozenset(v7_models)
        self._ids = itertools.count(70_000_001)
        self._names = {}
        self.routes = [
            *[("POST", re.compile(re.escape(path)), "submit",
               partial(self._submit, family=family, image=image))
              for path, (family, image) in SUBMITS.items()],
            *[("POST", re.compile(re.escape(path) + r"(?P<job_id>[^/]*)"), "poll",
               partial(self._fetch, family=family)) for family, path in FETCH.items()],
            ("GET", re.compile(r"/(?:cdn/)?generations/(?P<name>[^/]+)\.mp4"), "video",
             self._video),
        ]

    def _plan_class(self):
        return Plan

    @property
    def base_url(self):
        """What MODELSLAB_BASE_URL should be."""
        return self.origin + "/api"

    # -- endpoints -----------------------------------------------------------------------------
    def _submit(self, req, family, image):
        body, refusal = self._authorize(req)
        refusal = refusal or self._invalid(body, family, image)
        if refusal:
            return refusal
        if image and str(body["init_image"]).startswith(("http://", "https://")):
            fetched = self._fetch_image(body["init_image"])
            if fetched.status != 200:
                return error(400, f"Failed to download init_image (HTTP {fetched.status})")
        with self.lock:
            if self.queue_limit is not None and self.queued(body["key"]) >= self.queue_limit:
                return rate_limited(30)
            job = self._create(body, family)
        return json_reply(200, self._reply_body(job))

    def _fetch(self, req, family, job_id):
        body, refusal = self._authorize(req)
        if refusal:
            return refusal
        job = self.job(job_id)
        if job is None or job.key != body["key"] or job.family != family:
            return json_reply(200, REQUEST_NOT_FOUND)
        self._advance(job)
        return json_reply(200, self._reply_body(job))

    def _video(self, req, name):
        job = self._names.get(name)
        return self._video_reply(job is not None and job.ended and job.plan.end == "success")

    def _not_found(self, req):
        return error(404, "Not Found")

    def _method_not_allowed(self, req):
        return error(405, "Method Not Allowed", {"Allow": "POST"})

    # -- checks --------------------------------------------------------------------------------
    def _authorize(self, req):
        """(body, None) when the body is a JSON object with an accepted `key`, else
        (None, refusal)."""
        if not is_json(req):
            return None, error(400, "Content-Type must be application/json")
        if not isinstance(req.json, dict):
            return None, error(400, "The request body must be a JSON object")
        key = req.json.get("key")
        if not key:
            return None, error(self.auth_error_http, "API key required")
        if key not in self.keys:
            return None, error(self.auth_error_http, "Invalid API key")
        return req.json, None

    def _invalid(self, body, family, image):
        """The 400 for a missing required field, a documented field of the wrong JSON type,
        or a v7 model_id ModelsLab does not know; None when the body is acceptable."""
        for field in ("prompt", "model_id", *(("init_image",) if image else ())):
            if body.get(field) in (None, ""):
                return error(400, f"{field} is required")
        for field, types in FIELDS[family].items():
            if field in body and json_type(body[field]) not in types:
                return error(400, f"{field} must be of type {' or '.join(sorted(types))}")
        if family == "v7" and body["model_id"] not in self.v7_models:
            return error(400, f"Model not found: {body['model_id']}")
        if family == "v7" and not body.get("duration", "0").isdigit():
            return error(400, 'duration must be a number of seconds as a string, such as "8"')
        return None

    # -- jobs ----------------------------------------------------------------------------------
    def _create(self, body, family):
        plan = self._next_plan()
        job = Job(id=next(self._ids), key=body["key"], plan=plan, request=body, family=family,
                  webhook=body.get("webhook") if family == "v6" or self.v7_webhooks else None,
                  name=uuid.uuid4().hex, track_id=body.get("track_id"))
        self._names[job.name] = job
        self._add_job(job)
        if plan.instant:
            self._end(job)
        return job

    def _reply_body(self, job):
        """The submit and fetch reply: one shape whatever the state (§2)."""
        with self.lock:
            body = self._ending(job) if job.ended else self._processing(job)
        return _dress(body, job.plan)

    def _processing(self, job):
        return {"status": "processing", "eta": float(job.plan.eta),
                "message": "Try to fetch request after seconds estimated",
                "fetch_result": self.url(FETCH[job.family] + str(job.id)), "id": job.id,
                "output": [], "meta": self._meta(job), "future_links": [self._result_url(job)]}

    def _ending(self, job):
        end = job.plan.end
        if end in ("success", "no_video"):
            made = end == "success"
            return {"status": "success", "generationTime": self._generation_time(job),
                    "id": job.id, "output": [self._result_url(job)] if made else [],
                    "proxy_links": [self._result_url(job, "/cdn")] if made else [],
                    "meta": self._meta(job)}
        return {"status": "failed" if end == "failed" else "error", "id": job.id,
                "message": self._message(job), "output": []}

    def _result_url(self, job, prefix=""):
        return self.url(f"{prefix}/generations/{job.name}.mp4")

    def _meta(self, job):
        """ModelsLab echoes the request's parameters in `meta` (never the key)."""
        return {k: v for k, v in job.request.items() if k != "key"}

    def _message(self, job):
        return job.plan.message or MESSAGES[job.plan.end]

    def _generation_time(self, job):
        return round(job.ended_wall - job.created_wall, 2)

    # -- webhooks (§4): unsigned, track_id echoed, id a string ----------------------------------
    def _on_end(self, job):
        if job.webhook and job.plan.webhooks:
            self._deliver(job.webhook, partial(self._webhook_message, job), times=job.plan.webhooks)

    def _webhook_message(self, job, output=None):
        if job.plan.end in ("success", "no_video") or output:
            made = job.plan.end == "success"
            body = {"status": "success", "id": str(job.id),
                    "output": output or ([self._result_url(job)] if made else []),
                    "generationTime": self._generation_time(job) if job.ended else 1.0,
                    "track_id": job.track_id, "meta": self._meta(job)}
        else:
            body = {"status": "failed", "id": str(job.id), "message": self._message(job),
                    "track_id": job.track_id}
        if job.track_id is None:
            del body["track_id"]
        return common.json_bytes(_dress(body, job.plan)), {"Content-Type": "application/json"}

    def send_webhook(self, job_id, url=None):
        """Delivers an ended job's webhook once more (a replay), to `url` or the job's own."""
        job = self.job(job_id)
        if not job.ended:
            raise ValueError(f"job {job_id} has not ended: it has no webhook yet")
        self._deliver(url or job.webhook, partial(self._webhook_message, job))

    def forge_webhook(self, job_id, url=None):
        """Delivers what an attacker would: a success for this job (whatever its state),
        with its track_id, whose output is a file the job never made.  ModelsLab's webhooks
        are unsigned, so only a fetch can tell it from a real one."""
        job = self.job(job_id)
        output = [self.url(f"/generations/forged-{uuid.uuid4().hex}.mp4")]
        self._deliver(url or job.webhook, partial(self._webhook_message, job, output), forged=True)


def main():
    parser = common.cli_parser("A fake ModelsLab video API on a loopback port.", KEY, ENDS)
    parser.add_argument("--eta", type=float, default=Plan.eta)
    parser.add_argument("--instant", action="store_true", help="submits answer with the end")
    parser.add_argument("--queue-limit", type=int, default=5, help="0: no limit")
    args = parser.parse_args()
    common.serve_until_signalled(ModelsLabFake(
        keys=args.key or (KEY,), host=args.host, port=args.port,
        queue_limit=args.queue_limit or None, polls=args.polls, after=args.after, end=args.end,
        eta=args.eta, instant=args.instant))


if __name__ == "__main__":
    main()
