"""A fake Eden AI v3 async API that keeps to Eden AI's contract (shared/providers/edenai.md §2-6).

The base URL is the host root: EDENAI_BASE_URL=http://127.0.0.1:PORT.  Calls carry
`Authorization: Bearer KEY`; a job is submitted with POST /v3/universal-ai/async (202) and
followed with GET /v3/universal-ai/async/{public_id}; its end is also POSTed, signed, to the
submit's `webhook_receiver`.

    with EdenAIFake(polls=1) as fake:
        fake.plan(end="fail")                             # the next job fails
        fake.script("poll", common.Delay(2), provider_error())   # a slow poll, then a 502
        ...                                               # point vidgen at fake.base_url
        [sent] = fake.requests("submit")

Request kinds, for script() and requests(): "submit", "poll", "list", "delete", "video"
(the result files), "unknown".

Webhooks are signed as Eden AI signs them (§4): RSA PKCS#1 v1.5 / SHA-256 over the SHA-256
hex digest of the canonical JSON of the body.  The key pair is made once with the openssl
command; vidgen verifies with `fake.webhook_public_key_path` (PEM).

Command: python3 tests/fakes/edenai.py --port N [--polls N] [--end fail] ...
"""

import base64
import dataclasses
import datetime
import hashlib
import json
import math
import os
import re
import subprocess
import uuid
from functools import partial

import common
from common import is_json, json_reply, json_type

KEY = "eden-test-key"
ASYNC = "/v3/universal-ai/async"
FEATURE, SUBFEATURE = "video", "generation_async"
MODEL = re.compile(r"video/generation_async/(?P<provider>[^/]+)(?:/(?P<model>.+))?")
# The providers Eden AI offers for video generation, and their models (None: any; §3).
PROVIDERS = {"amazon": {"amazon.nova-reel-v1:0", "amazon.nova-reel-v1:1"}, "bytedance": None,
             "google": None, "minimax": None, "openai": None, "pixverse": None, "pruna": None}
PRICE_PER_SECOND = 0.08        # Nova Reel's; costs are illustrative (§2)
DEFAULT_DURATION = 6
URL_LIFETIME = 604800          # the CloudFront signed URL's 7 days (§5)

ENDS = ("success", "no_video", "fail", "failed", "rejected", "never")
MESSAGES = {                    # the default failure messages, by end ({provider}: the job's)
    "fail": "Provider {provider} returned an error: the video generation failed",
    "failed": "Provider {provider} returned an error: the video generation failed",
    "rejected": "Provider {provider} returned an error: ValidationException: This request has "
                "been blocked by our content filters.",
}

# The request's fields and their JSON types: (types, required).
BODY_FIELDS = {
    "model": ({"string"}, True),
    "input": ({"object"}, True),
    "provider_params": ({"object", "null"}, False),
    "fallbacks": ({"array", "null"}, False),
    "show_original_response": ({"boolean", "null"}, False),
    "webhook_receiver": ({"string", "null"}, False),
    "user_webhook_parameters": ({"object", "null"}, False),
}
INPUT_FIELDS = {
    "text": ({"string"}, True),
    "file": ({"string"}, False),
    "duration": ({"integer"}, False),
    "dimension": ({"string"}, False),
    "seed": ({"integer"}, False),
}
# Pydantic's error type and message for a value not of the expected JSON type.
TYPE_ERRORS = {
    "string": ("string_type", "Input should be a valid string"),
    "object": ("dict_type", "Input should be a valid dictionary"),
    "integer": ("int_type", "Input should be a valid integer"),
    "boolean": ("bool_type", "Input should be a valid boolean"),
    "array": ("list_type", "Input should be a valid list"),
}


# -- replies in Eden AI's error shapes, for script() --------------------------------------------

def error(status, detail, error_code, headers=None, **fields):
    """{"detail":..., "error_code":...} with HTTP `status`, plus `fields`."""
    return json_reply(status, {"detail": detail, "error_code": error_code, **fields}, headers)


def no_credits(required=0.48, available=0.0):
    return error(402, "User does not have sufficient credits", "INSUFFICIENT_CREDIT",
                 required_credits=required, available_credits=available)


def rate_limited(retry_after=1.5, header=False):
    """A 429 with `retry_after` (seconds, a float) in the body as documented; None leaves it
    out.  header=True also sends a Retry-After header (Eden AI is not documented to)."""
    fields = {} if retry_after is None else {"retry_after": retry_after}
    headers = {"Retry-After": str(math.ceil(retry_after))} if header and fields else None
    return error(429, "Rate limit exceeded", "RATE_LIMITED", headers, **fields)


def server_error(status=500):
    """What the API's framework answers for an unhandled error: plain text."""
    return common.text_reply(status, common.HTTPStatus(status).phrase)


def provider_error(message="Provider amazon is temporarily unavailable"):
    return error(502, message, "PROVIDER_ERROR")


def _validation_error(*errors):
    return json_reply(422, {"detail": list(errors)})


def _field_error(kind, loc, msg, value):
    """One entry of a 422's `detail`, as pydantic writes it."""
    return {"type": kind, "loc": list(loc), "msg": msg, "input": value}


# -- webhook signatures (§4) ---------------------------------------------------------------------

def _make_private_key(path):
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(path)], check=True, capture_output=True, timeout=60)


def webhook_private_key():
    return common.cached_file("edenai-webhook.key.pem", _make_private_key)


def webhook_public_key():
    """The PEM public key that verifies the fake's webhooks (Eden AI's comes from support)."""
    def make(path):
        subprocess.run(["openssl", "pkey", "-in", str(webhook_private_key()), "-pubout",
                        "-out", str(path)], check=True, capture_output=True, timeout=60)
    return common.cached_file("edenai-webhook.pub.pem", make)


def canonical_json(payload):
    """What Eden AI hashes: sorted keys, 2-space indent, UTF-8."""
    return json.dumps(payload, sort_keys=True, indent=2, ensure_ascii=False).encode()


def sign(payload):
    """The X-Edenai-Signature of `payload`: hex RSA PKCS#1 v1.5 / SHA-256 signature of the
    SHA-256 hex digest of its canonical JSON."""
    digest_hex = hashlib.sha256(canonical_json(payload)).hexdigest().encode()
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(webhook_private_key())],
                               input=digest_hex, check=True, capture_output=True, timeout=10).stdout
    return signature.hex()


def _webhook_message(payload, signature):
    """(body, headers) of a webhook POST; no signature headers when `signature` is None.
    The body is plain json.dumps, not the canonical form: a receiver must canonicalize
    before it checks the signature."""
    headers = {"Content-Type": "application/json", "User-Agent": "EdenAI/Ai-Features",
               "X-Edenai-Webhook": "true"}
    if signature is not None:
        headers.update({"X-Edenai-Signature": signature, "X-Edenai-Hash-Algorithm": "SHA256"})
    return json.dumps(payload).encode(), headers


def _iso(wall):
    return datetime.datetime.fromtimestamp(wall, datetime.timezone.utc).isoformat()


# -- jobs --------------------------------------------------------------------------------------

@dataclasses.dataclass
class Job(common.Job):
    provider: str = ""
    model: str = None
    name: str = ""             # the result file's name
    duration: int = DEFAULT_DURATION
    user_parameters: dict = None
    deleted: bool = False


def _nova_reel_problem(job_input):
    """Why Amazon would refuse these settings (Nova Reel: 6 s clips of 1280x720, prompts up
    to 512 characters, §3), or None.  Eden AI passes them on, so the job fails."""
    if len(job_input["text"]) > 512:
        return "the prompt is longer than 512 characters"
    if job_input.get("duration", DEFAULT_DURATION) != DEFAULT_DURATION:
        return f"duration {job_input['duration']} is not supported, Nova Reel makes 6 s clips"
    if job_input.get("dimension", "1280x720") != "1280x720":
        return f"dimension {job_input['dimension']} is not supported, use 1280x720"
    return None


class EdenAIFake(common.FakeServer):
    """The fake.  `keys`: the accepted API keys (`key` is the first).  Webhook tries that get
    a 5xx or no answer are retried `webhook_retries` times, the pause doubling from
    `webhook_backoff` seconds.  Other keyword arguments are the default Plan of every job."""
    ENDS = ENDS
    server_header = "fake-edenai"

    def __init__(self, keys=(KEY,), webhook_retries=3, webhook_backoff=0.1, **kw):
        super().__init__(keys, **kw)
        self.webhook_retries = webhook_retries
        self.webhook_backoff = webhook_backoff
        self.webhook_public_key_path = str(webhook_public_key())
        with open(self.webhook_public_key_path) as f:
            self.webhook_public_key_pem = f.read()
        self._mp4_base64 = base64.b64encode(self.mp4).decode()
        self._names = {}
        job_path = re.compile(re.escape(ASYNC) + r"/(?P<job_id>[^/]+)")
        self.routes = [
            ("POST", re.compile(re.escape(ASYNC)), "submit", self._submit),
            ("GET", re.compile(re.escape(ASYNC)), "list", self._list),
            ("GET", job_path, "poll", self._poll),
            ("DELETE", job_path, "delete", self._delete),
            ("GET", re.compile(r"/cdn/(?P<name>[^/]+)_\.mp4"), "video", self._video),
        ]

    @property
    def base_url(self):
        """What EDENAI_BASE_URL should be."""
        return self.origin

    # -- endpoints -----------------------------------------------------------------------------
    def _submit(self, req):
        key, refusal = self._authorize(req)
        refusal = refusal or self._invalid_body(req)
        if refusal:
            return refusal
        found = MODEL.fullmatch(req.json["model"])
        if not found or not self._offered(found["provider"], found["model"]):
            return error(400, f"Invalid model '{req.json['model']}': expected "
                              "video/generation_async/{provider}[/{model}] with a provider and "
                              "model Eden AI offers", "INVALID_MODEL")
        refusal = self._invalid_input(req.json["input"])
        if refusal:
            return refusal
        file = req.json["input"].get("file")
        if isinstance(file, str) and file.startswith(("http://", "https://")):
            fetched = self._fetch_image(file)
            if fetched.status != 200:
                return _validation_error(_field_error("url_parsing", ("body", "input", "file"),
                                                      f"Could not download the file (HTTP {fetched.status})",
                                                      file))
        job = self._create(key, req.json, found["provider"], found["model"])
        return json_reply(202, self._job_body(job))

    def _poll(self, req, job_id):
        job, refusal = self._own_job(req, job_id)
        if refusal:
            return refusal
        self._advance(job)
        return json_reply(200, self._job_body(job))

    def _delete(self, req, job_id):
        job, refusal = self._own_job(req, job_id)
        if refusal:
            return refusal
        job.deleted = True
        return json_reply(200, {"public_id": job.id, "deleted": True})

    def _list(self, req):
        key, refusal = self._authorize(req)
        if refusal:
            return refusal
        page, limit = req.query.get("page", "1"), req.query.get("limit", "100")
        for name, value in (("page", page), ("limit", limit)):
            if not value.isdigit() or not 1 <= int(value) <= 1000:
                return _validation_error(_field_error("int_parsing", ("query", name), "Input "
                                                      "should be an integer from 1 to 1000", value))
        page, limit = int(page), int(limit)
        with self.lock:
            items = [self._list_item(j) for j in reversed(self.jobs.values())
                     if j.key == key and not j.deleted]
        items = [i for i in items if req.query.get("status") in (None, i["status"])]
        return json_reply(200, {"items": items[(page - 1) * limit: page * limit],
                                "total": len(items), "page": page, "limit": limit,
                                "total_pages": max(1, math.ceil(len(items) / limit))})

    def _video(self, req, name):
        job = self._names.get(name)
        return self._video_reply(job is not None and job.ended and job.plan.end == "success")

    def _not_found(self, req):
        return json_reply(404, {"detail": "Not Found"})

    def _method_not_allowed(self, req):
        return json_reply(405, {"detail": "Method Not Allowed"})

    # -- checks --------------------------------------------------------------------------------
    def _authorize(self, req):
        """(key, None) for an accepted Bearer token, else (None, the 401)."""
        scheme, _, token = req.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self.keys:
            return None, error(401, "Invalid or missing authentication token", "UNAUTHORIZED")
        return token.strip(), None

    def _own_job(self, req, job_id):
        """(job, None) for a job of the caller's key, else (None, the 401, 422 or 404)."""
        key, refusal = self._authorize(req)
        if refusal:
            return None, refusal
        try:
            job_id = str(uuid.UUID(job_id))
        except ValueError:
            return None, _validation_error(_field_error(
                "uuid_parsing", ("path", "job_id"), "Input should be a valid UUID", job_id))
        job = self.job(job_id)
        if job is None or job.key != key or job.deleted:
            return None, error(404, "Async job not found", "NOT_FOUND")
        return job, None

    def _invalid_body(self, req):
        """FastAPI's 422 for a body that is not a JSON object with the documented fields."""
        if not is_json(req) or not isinstance(req.json, dict):
            kind = "json_invalid" if is_json(req) else "model_attributes_type"
            return _validation_error(_field_error(kind, ("body",), "Input should be a valid "
                                                  "JSON object", req.body.decode(errors="replace")))
        return (self._type_errors(req.json, BODY_FIELDS, ("body",))
                or self._body_value_errors(req.json))

    def _invalid_input(self, job_input):
        """The 422 for the video generation `input` (§2: text, file, duration, dimension,
        seed)."""
        loc = ("body", "input")
        if refusal := self._type_errors(job_input, INPUT_FIELDS, loc):
            return refusal
        checks = (("duration", lambda v: v >= 1, "greater_than_equal",
                   "greater than or equal to 1"),
                  ("seed", lambda v: 0 <= v <= 2147483646, "less_than_equal",
                   "between 0 and 2147483646"),
                  ("dimension", lambda v: re.fullmatch(r"\d+x\d+", v), "string_pattern_mismatch",
                   "'WIDTHxHEIGHT', such as '1280x720'"))
        errors = [_field_error(kind, (*loc, field), f"Input should be {what}", job_input[field])
                  for field, ok, kind, what in checks
                  if field in job_input and not ok(job_input[field])]
        return _validation_error(*errors) if errors else None

    @staticmethod
    def _type_errors(obj, fields, loc):
        errors = []
        for field, (types, required) in fields.items():
            if field not in obj:
                if required:
                    errors.append(_field_error("missing", (*loc, field), "Field required", obj))
            elif json_type(obj[field]) not in types:
                kind, msg = TYPE_ERRORS[min(types - {"null"})]
                errors.append(_field_error(kind, (*loc, field), msg, obj[field]))
        return _validation_error(*errors) if errors else None

    @staticmethod
    def _body_value_errors(body):
        errors = []
        if len(body.get("fallbacks") or ()) > 3:
            errors.append(_field_error("too_long", ("body", "fallbacks"),
                                       "List should have at most 3 items", body["fallbacks"]))
        receiver = body.get("webhook_receiver")
        if receiver is not None and not (re.match(r"https?://[^/]", receiver)
                                         and len(receiver) <= 2083):
            errors.append(_field_error("url_parsing", ("body", "webhook_receiver"),
                                       "Input should be a valid URL of at most 2083 characters",
                                       receiver))
        return _validation_error(*errors) if errors else None

    @staticmethod
    def _offered(provider, model):
        return provider in PROVIDERS and (model is None or PROVIDERS[provider] is None
                                          or model in PROVIDERS[provider])

    # -- jobs ----------------------------------------------------------------------------------
    def _create(self, key, body, provider, model):
        plan = self._next_plan()
        job_input = body["input"]
        problem = provider == "amazon" and _nova_reel_problem(job_input)
        if problem:
            plan = dataclasses.replace(plan, end="fail",
                                       message=f"Provider amazon returned an error: {problem}")
        job = Job(id=str(uuid.uuid4()), key=key, plan=plan, request=body, provider=provider,
                  model=model, webhook=body.get("webhook_receiver"), name=str(uuid.uuid4()),
                  duration=job_input.get("duration", DEFAULT_DURATION),
                  user_parameters=body.get("user_webhook_parameters"))
        self._names[job.name] = job
        self._add_job(job)
        return job

    def _status(self, job):
        if not job.ended:
            return "processing"
        if job.plan.end in ("success", "no_video"):
            return "success"
        return "failed" if job.plan.end == "failed" else "fail"

    def _job_body(self, job):
        """The object of the 202 and of GET (§2): output null until success, error on fail."""
        with self.lock:
            status = self._status(job)
            body = {"public_id": job.id, "status": status, "cost": "0", "provider": job.provider,
                    "feature": FEATURE, "subfeature": SUBFEATURE, "model": job.model,
                    "created_at": _iso(job.created_wall), "output": None}
            if status == "success":
                body.update(cost=f"{PRICE_PER_SECOND * job.duration:.2f}", output=self._output(job))
            elif job.ended:
                body["error"] = {"message": self._message(job)}
        return body

    def _list_item(self, job):
        body = self._job_body(job)
        return {k: body[k] for k in ("public_id", "status", "feature", "subfeature", "provider",
                                     "model", "created_at")}

    def _output(self, job, url=None):
        """`video` (base64 MP4) and `video_resource_url` (a signed-URL look-alike), both null
        for a success without a video."""
        if job.plan.end == "no_video" and url is None:
            return {"video": None, "video_resource_url": None}
        expires = int(job.ended_wall or job.created_wall) + URL_LIFETIME
        url = url or self.url(f"/cdn/{job.name}_.mp4?Expires={expires}"
                              f"&Signature={job.name.replace('-', '')}&Key-Pair-Id=APKAFAKE")
        return {"video": self._mp4_base64, "video_resource_url": url}

    def _message(self, job):
        return job.plan.message or MESSAGES[job.plan.end].format(provider=job.provider)

    # -- webhooks (§4) -------------------------------------------------------------------------
    def _on_end(self, job):
        if job.webhook and job.plan.webhooks:
            self._deliver(job.webhook, partial(self._genuine, job), times=job.plan.webhooks,
                          retries=self.webhook_retries, backoff=self.webhook_backoff)

    def _payload(self, job, forged_url=None):
        """The async_job_completed body; a forged one claims success with `forged_url`."""
        status = "success" if forged_url else self._status(job)
        payload = {"event": "async_job_completed", "job_id": job.id, "status": status,
                   "feature": FEATURE, "subfeature": SUBFEATURE, "provider": job.provider,
                   "model": job.model, "created_at": _iso(job.created_wall),
                   "finished_at": _iso(job.ended_wall or job.created_wall)}
        if status == "success":
            payload["output"] = self._output(job, forged_url)
        else:
            payload["error"] = {"message": self._message(job)}
        if job.user_parameters is not None:
            payload["user_parameters"] = job.user_parameters
        return payload

    def _genuine(self, job):
        payload = self._payload(job)
        return _webhook_message(payload, sign(payload))

    def send_webhook(self, job_id, url=None):
        """Delivers an ended job's genuine, signed webhook once more (a replay)."""
        job = self.job(job_id)
        if not job.ended:
            raise ValueError(f"job {job_id} has not ended: it has no webhook yet")
        self._deliver(url or job.webhook, partial(self._genuine, job))

    def forge_webhook(self, job_id, how="bad_signature", url=None):
        """Delivers a webhook claiming this job succeeded with a video it never made, signed
        wrongly: how="bad_signature" (a signature by no key), "unsigned" (no signature
        headers) or "tampered" (a valid signature of another body)."""
        job = self.job(job_id)
        forged = self._payload(job, self.url(f"/cdn/forged-{uuid.uuid4()}_.mp4"))
        signatures = {"bad_signature": lambda: os.urandom(256).hex(), "unsigned": lambda: None,
                      "tampered": lambda: sign({**forged, "status": "fail"})}
        if how not in signatures:
            raise ValueError(f"how={how!r}: one of {', '.join(signatures)}")
        self._deliver(url or job.webhook, partial(_webhook_message, forged, signatures[how]()),
                      forged=True)


def main():
    parser = common.cli_parser("A fake Eden AI v3 async video API on a loopback port.", KEY,
                               ENDS)
    args = parser.parse_args()
    common.serve_until_signalled(EdenAIFake(keys=args.key or (KEY,), host=args.host,
                                            port=args.port, polls=args.polls, after=args.after,
                                            end=args.end))


if __name__ == "__main__":
    main()
