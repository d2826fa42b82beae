"""What the fake providers share: the server, the recording, the scripted faults, the video.

A fake (modelslab.py, edenai.py) is a real HTTP/1.1 server on a loopback port, so vidgen's
libcurl loop meets real sockets, keep-alive, partial bodies and resets.  This module knows
nothing of any provider's shapes; it gives each fake:

- a threaded server that stops in bounded time (open connections and pending delays are cut);
- a record of every request received (`requests()`), for tests that check the exact JSON sent;
- a script of misbehaviours consumed by the next matching requests (`script()`, `always()`);
- jobs that answer "processing" for a number of polls (or seconds) and then end as planned;
- webhook delivery to the URL a submit gave, recorded in `deliveries`;
- a real small MP4, made once with the ffmpeg CLI and cached.

Standard library only (python3 from Debian), plus the ffmpeg and openssl commands.
"""

import argparse
import collections
import dataclasses
import fnmatch
import functools
import http.client
import itertools
import json
import os
import pathlib
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

CACHE = pathlib.Path(tempfile.gettempdir()) / f"vidgen-fakes-{os.getuid()}"
MAX_BODY = 16 << 20       # a request body larger than this is refused (bounds memory)
IDLE_SECONDS = 10         # an idle keep-alive connection is closed after this
POLL_SECONDS = 0.01       # how often the accept loop looks for stop(): what a stop costs
_cache_lock = threading.RLock()      # reentrant: one cached file may be made from another


# -- cached files ------------------------------------------------------------------------------

def cached_file(name, make):
    """The path of CACHE/name, made once by make(tmp_path) and then reused by every fake and
    every test run.  Written under a unique name and renamed, so concurrent makers never see
    a half-written file."""
    path = CACHE / name
    with _cache_lock:
        if not path.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}")
            make(tmp)
            os.replace(tmp, path)
    return path


def _make_mp4(path):
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
                    "-i", "testsrc=size=320x240:rate=24", "-t", "1", "-pix_fmt", "yuv420p",
                    "-c:v", "libx264", "-movflags", "+faststart", "-f", "mp4", "-y", str(path)],
                   check=True, capture_output=True, timeout=60)


def sample_mp4():
    """A real 1 s, 320x240, 24 fps H.264 MP4: what every fake serves as a finished video, so
    vidgen's download, probe and thumbnail steps run on a genuine file."""
    return cached_file("sample.mp4", _make_mp4).read_bytes()


# -- replies and scripted actions --------------------------------------------------------------
#
# An action decides how one request is answered.  `respond(exchange, handle)` gets the open
# exchange and `handle`, which runs the fake's normal endpoint (with its effects: a job is
# created, a poll is counted) and returns its Reply.  A Reply is itself an action: it answers
# with itself, and the endpoint never runs.

@dataclasses.dataclass
class Reply:
    """An HTTP reply to send as is.  Content-Length is always added (the true one)."""
    status: int
    body: bytes = b""
    headers: dict = dataclasses.field(default_factory=dict)

    def respond(self, exchange, handle):
        exchange.send(self)


def json_bytes(obj):
    """Compact JSON, as both providers send it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def json_reply(status, obj, headers=None):
    return Reply(status, json_bytes(obj), {"Content-Type": "application/json", **(headers or {})})


def text_reply(status, text, content_type="text/plain; charset=utf-8", headers=None):
    return Reply(status, text.encode(), {"Content-Type": content_type, **(headers or {})})


def html_page(status=502):
    """The HTML error page a proxy in front of an API answers with when the API is down."""
    phrase = f"{status} {HTTPStatus(status).phrase}"
    page = (f"<html>\r\n<head><title>{phrase}</title></head>\r\n<body>\r\n<center><h1>{phrase}"
            f"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
    return text_reply(status, page, "text/html")


def garbage(status=200):
    """A body that claims to be JSON and is not (a broken upstream, a proxy's leftovers)."""
    return Reply(status, b'{"status":"succ\x00\xff<!-- upstream -->',
                 {"Content-Type": "application/json"})


def expired():
    """What a storage bucket or CDN answers for a signed result URL past its expiry."""
    return text_reply(403, '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied'
                           '</Code><Message>Request has expired</Message></Error>',
                      "application/xml")


def not_found_object():
    """What a storage bucket answers for an object that is not (or not yet) there."""
    return text_reply(404, '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey'
                           '</Code><Message>The specified key does not exist.</Message></Error>',
                      "application/xml")


class Pass:
    """Answer normally: useful in a script to let one request through before a fault."""

    def respond(self, exchange, handle):
        exchange.send(handle())

    def __repr__(self):
        return "PASS"


PASS = Pass()


@dataclasses.dataclass
class Delay:
    """Wait `seconds` before doing `then` (the normal answer by default): a slow provider.
    The wait ends early when the fake stops."""
    seconds: float
    then: object = PASS

    def respond(self, exchange, handle):
        exchange.pause(self.seconds)
        self.then.respond(exchange, handle)


@dataclasses.dataclass
class Truncated:
    """Announce the whole reply (the normal one unless `reply` is given) in Content-Length,
    send half of its body, then close the connection: a body cut in transit."""
    reply: Reply = None

    def respond(self, exchange, handle):
        exchange.send(self.reply or handle(), truncate=True)


@dataclasses.dataclass
class Reset:
    """Drop the connection with a TCP reset and no reply.  With processed=True the request
    is handled first (a submit creates its job), so the reply, not the request, is lost."""
    processed: bool = False

    def respond(self, exchange, handle):
        if self.processed:
            handle()
        exchange.reset()


# -- what is recorded ----------------------------------------------------------------------------

@dataclasses.dataclass
class Recorded:
    """One request as the fake received it, and how it was answered."""
    method: str
    path: str                  # without the query string
    query: dict                # query parameters (the last value of each)
    headers: object            # http.client.HTTPMessage: case-insensitive .get()
    body: bytes
    json: object               # the parsed body, or None when it is not JSON
    time: float                # time.monotonic() at arrival (for intervals between requests)
    kind: str = "unknown"      # "submit", "poll", "video", ... (each fake lists its kinds)
    action: object = PASS      # the scripted action that answered it
    status: int = None         # the HTTP status sent; None when no reply was sent (Reset)


@dataclasses.dataclass
class Delivery:
    """One webhook POST the fake made, and what came of it."""
    url: str
    headers: dict
    body: bytes
    json: object
    time: float                # time.monotonic() when it was sent
    status: int = None         # the receiver's HTTP status; None when no reply came
    error: str = None          # why no reply came
    forged: bool = False       # sent by forge_webhook(), not by a job's end


@dataclasses.dataclass
class ImageFetch:
    """One image the fake downloaded from a URL a submit gave it, as the provider would."""
    url: str
    status: int = None         # the HTTP status; None when no reply came
    data: bytes = None         # the body of a 200
    error: str = None


# -- jobs --------------------------------------------------------------------------------------

@dataclasses.dataclass
class Plan:
    """How one job behaves.  A fake's constructor takes these fields as its defaults; the
    fake's plan(**fields) sets them for the next accepted submit only."""
    polls: int = 2             # polls answered "processing" before the end (None: no limit)
    after: float = None        # also end this many seconds after the submit (None: no timer)
    end: str = "success"       # how the job ends; each fake lists its ENDS
    message: str = None        # the failure message (None: the fake's default for `end`)
    webhooks: int = 1          # deliveries of the end to the submit's webhook URL, if it gave one


@dataclasses.dataclass
class Job:
    """A job as the fake holds it.  Each fake adds its provider's fields."""
    id: object
    key: str
    plan: Plan
    request: dict              # the submit's JSON body
    webhook: str = None        # where the end is delivered, when the submit asked for it
    created_wall: float = dataclasses.field(default_factory=time.time)
    polls: int = 0             # polls answered so far
    ended: bool = False
    ended_wall: float = None


# -- the server --------------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    """One connection.  Every method goes to the fake; the methods below are the exchange an
    action works with."""
    protocol_version = "HTTP/1.1"    # keep-alive, as the real APIs
    timeout = IDLE_SECONDS
    record = None

    def _dispatch(self):
        self.server.fake._serve(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def version_string(self):
        return self.server.fake.server_header

    def log_message(self, format, *args):
        """Quiet: the record is the log."""

    def send(self, reply, truncate=False):
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.record is not None:
            self.record.status = reply.status
        if self.command == "HEAD":
            return
        if truncate:
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.close_connection = True
        else:
            self.wfile.write(reply.body)

    def pause(self, seconds):
        """Waits; a fake that stops meanwhile answers nothing more."""
        if self.server.fake._stopping.wait(seconds):
            raise ConnectionAbortedError("the fake is stopping")

    def reset(self):
        """Closes the socket with SO_LINGER 0, so the peer gets a RST and not a FIN.  The
        read buffer holds a reference to the socket: it is closed first, or close() would
        wait for it."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024        # a burst of connections from the benchmark waits, not fails

    def __init__(self, address, fake):
        self.fake = fake
        self.open = set()            # the sockets of live connections, cut by stop()
        super().__init__(address, _Handler)

    def server_bind(self):
        """As HTTPServer's, minus its reverse DNS look-up of the address (slow offline)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        self.open.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            self.open.discard(request)


def _read_chunked(rfile):
    chunks = []
    while (size := int(rfile.readline(1024).split(b";")[0], 16)) > 0:
        chunks.append(rfile.read(size))
        rfile.readline(1024)
    while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
        pass                          # trailers
    return b"".join(chunks)


def _read_body(handler):
    """The request body, Content-Length or chunked.  ValueError when it is malformed or
    larger than MAX_BODY."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        return _read_chunked(handler.rfile)
    length = int(handler.headers.get("Content-Length") or 0)
    if not 0 <= length <= MAX_BODY:
        raise ValueError(length)
    return handler.rfile.read(length)


def json_type(value):
    """The JSON type name of a parsed value, telling booleans from integers."""
    if value is None:
        return "null"
    for python_type, name in ((bool, "boolean"), (int, "integer"), (float, "number"),
                              (str, "string"), (list, "array"), (dict, "object")):
        if isinstance(value, python_type):
            return name
    raise TypeError(value)


def is_json(req):
    """Whether the request says its body is JSON (application/json, or any +json type)."""
    media = req.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _parse_json(body):
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _matches(match, kind, path):
    """`match` is a request kind ("submit") or a shell-style pattern on the path ("/api/*")."""
    return fnmatch.fnmatchcase(path, match) if match.startswith("/") else match == kind


class FakeServer:
    """The provider-neutral part of a fake.  A subclass sets ENDS and server_header, builds
    its `routes` — (method, compiled path regex, kind, endpoint) — and implements
    _not_found, _method_not_allowed and _on_end."""
    ENDS = ()
    server_header = "fake"

    def __init__(self, keys, host="127.0.0.1", port=0, webhook_timeout=5.0, **plan):
        self.keys = tuple(keys)
        self.key = self.keys[0]
        self.defaults = self._plan_class()(**plan)
        self._check_plan(self.defaults)
        self.webhook_timeout = webhook_timeout
        self.jobs = {}               # id → Job, in submit order
        self._jobs_by_text = {}      # str(id) → Job: ids as they come in a URL
        self._unfinished = collections.Counter()    # key → jobs not ended
        self.deliveries = []         # every webhook POST, in order
        self.image_fetches = []      # every image a submit named by URL, fetched at the submit
        self.errors = []             # exceptions raised by the fake's own code (bugs)
        self.lock = threading.RLock()
        self.routes = []
        self.mp4 = sample_mp4()
        self._address = (host, port)
        self._requests = []
        self._rules = []             # [match, iterator of actions]
        self._plans = []             # plans for the next submits
        self._threads = []           # webhook deliveries and job timers
        self._stopping = threading.Event()
        self._server = None

    # -- life ----------------------------------------------------------------------------------
    def start(self):
        """Binds (port 0: any free one) and serves in a daemon thread; returns self.  A
        stopped fake can start again, on the same port and with its jobs and records: the
        provider was unreachable meanwhile."""
        self._stopping.clear()
        self._server = _Server(self._address, self)
        self.port = self._server.server_address[1]
        self._address = (self._address[0], self.port)
        self.origin = f"http://{self._address[0]}:{self.port}"
        thread = threading.Thread(target=self._server.serve_forever, args=(POLL_SECONDS,),
                                  daemon=True, name=f"{type(self).__name__}:{self.port}")
        thread.start()
        self._serve_thread = thread
        return self

    def stop(self):
        """Stops in bounded time: no new connections, open ones cut, pending delays, timers
        and webhook retries ended.  Safe to call twice."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        for sock in list(self._server.open):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._serve_thread.join(2)
        deadline = time.monotonic() + 2
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def url(self, path):
        """An absolute URL on this fake."""
        return self.origin + path

    # -- scripting -----------------------------------------------------------------------------
    def script(self, match, *actions):
        """The next requests matching `match` (a kind such as "submit", or a path pattern such
        as "/api/v6/video/fetch/*") are answered by `actions`, one each, in order; then
        normally again.  Scripts are consumed in the order they were given."""
        with self.lock:
            self._rules.append([match, iter(actions)])

    def always(self, match, action):
        """Every request matching `match` is answered by `action` until clear_script()."""
        with self.lock:
            self._rules.append([match, itertools.repeat(action)])

    def clear_script(self):
        with self.lock:
            self._rules.clear()

    def plan(self, **fields):
        """The next accepted submit's job follows the defaults changed by `fields` (see the
        fake's Plan).  Several calls queue plans for the next submits in order."""
        plan = dataclasses.replace(self.defaults, **fields)
        self._check_plan(plan)
        with self.lock:
            self._plans.append(plan)
        return plan

    def _check_plan(self, plan):
        if plan.end not in self.ENDS:
            raise ValueError(f"end={plan.end!r}: one of {', '.join(self.ENDS)}")

    def _next_plan(self):
        with self.lock:
            return self._plans.pop(0) if self._plans else dataclasses.replace(self.defaults)

    def _next_action(self, kind, path):
        with self.lock:
            for rule in list(self._rules):
                if _matches(rule[0], kind, path):
                    action = next(rule[1], None)
                    if action is not None:
                        return action
                    self._rules.remove(rule)
        return PASS

    # -- recording -----------------------------------------------------------------------------
    def requests(self, match=None, method=None):
        """Requests received so far, oldest first; only those matching `match` (a kind or a
        path pattern, as for script()) and `method` when given."""
        with self.lock:
            return [r for r in self._requests
                    if (match is None or _matches(match, r.kind, r.path))
                    and (method is None or r.method == method)]

    def wait_deliveries(self, count, timeout=5.0):
        """The deliveries once there are at least `count`; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.deliveries)} webhook deliveries, not {count}, "
                                     f"after {timeout}s: {self.deliveries}")
            time.sleep(0.01)
        with self.lock:
            return list(self.deliveries)

    @property
    def last_job(self):
        with self.lock:
            return next(reversed(self.jobs.values()), None)

    # -- serving -------------------------------------------------------------------------------
    def _serve(self, handler):
        handler.record = None
        url = urlsplit(handler.path)
        try:
            body = _read_body(handler)
        except ValueError:
            handler.close_connection = True
            handler.send(text_reply(400, "malformed or oversized request body"))
            return
        req = Recorded(handler.command, url.path, dict(parse_qsl(url.query)), handler.headers,
                       body, _parse_json(body), time.monotonic())
        req.kind, endpoint = self._route(req)
        req.action = self._next_action(req.kind, req.path)
        handler.record = req
        with self.lock:
            self._requests.append(req)
        try:
            req.action.respond(handler, lambda: self._run(endpoint, req))
        except OSError:
            handler.close_connection = True        # the client went away, or stop() cut it

    def _route(self, req):
        """(kind, endpoint) for a request; endpoint(req) returns the normal Reply."""
        kind = None
        for method, pattern, route_kind, endpoint in self.routes:
            found = pattern.fullmatch(req.path)
            if found and req.method in (method, "HEAD" if method == "GET" else None):
                return route_kind, functools.partial(endpoint, **found.groupdict())
            kind = kind or (route_kind if found else None)
        if kind:
            return kind, self._method_not_allowed
        return "unknown", self._not_found

    def _run(self, endpoint, req):
        """The endpoint's reply; a bug in the fake is kept in `errors` and answered with a 500
        that says so, never passed off as the provider's behaviour."""
        try:
            return endpoint(req)
        except Exception as exc:
            traceback.print_exc()
            self.errors.append(exc)
            return text_reply(500, f"fake server bug: {exc!r}")

    def _video_reply(self, available):
        """The MP4 when the result exists, else the storage's 404."""
        if not available:
            return not_found_object()
        return Reply(200, self.mp4, {"Content-Type": "video/mp4", "Accept-Ranges": "none"})

    # -- jobs ----------------------------------------------------------------------------------
    def _add_job(self, job):
        """Stores a new job and starts its timer when its plan ends it after some seconds."""
        with self.lock:
            self.jobs[job.id] = job
            self._jobs_by_text[str(job.id)] = job
            self._unfinished[job.key] += 1
        if job.plan.after is not None and job.plan.end != "never":
            self._spawn(self._end_after, job)

    def _end_after(self, job):
        if not self._stopping.wait(job.plan.after):
            self._end(job)

    def _advance(self, job):
        """Counts one poll: the job ends once it has answered its planned polls (or its timer
        ran out); a job planned to never end stays processing."""
        with self.lock:
            if job.ended or job.plan.end == "never":
                return
            if job.plan.polls is None or job.polls < job.plan.polls:
                job.polls += 1
                return
        self._end(job)

    def _end(self, job):
        with self.lock:
            if job.ended:
                return
            job.ended = True
            job.ended_wall = time.time()
            self._unfinished[job.key] -= 1
        self._on_end(job)

    def queued(self, key):
        """Jobs of `key` not ended yet."""
        with self.lock:
            return self._unfinished[key]

    def job(self, job_id):
        """The job with this id (as the fake issued it, or its string form)."""
        return self._jobs_by_text.get(str(job_id))

    # -- images --------------------------------------------------------------------------------
    def _fetch_image(self, url):
        """Downloads an image a submit names by URL, as the provider does before it accepts
        the job; records and returns the ImageFetch.  This machine reaches only loopback: an
        image elsewhere is taken unfetched (status 200, no data), as a reachable one would be."""
        fetch = ImageFetch(url)
        parts = urlsplit(url)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            fetch.status, fetch.error = 200, "not on loopback: not fetched"
            with self.lock:
                self.image_fetches.append(fetch)
            return fetch
        try:
            conn = http.client.HTTPConnection(parts.netloc, timeout=10)
            try:
                conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
                response = conn.getresponse()
                body = response.read()
                fetch.status = response.status
                fetch.data = body if response.status == 200 else None
            finally:
                conn.close()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            fetch.error = repr(exc)
        with self.lock:
            self.image_fetches.append(fetch)
        return fetch

    # -- webhooks ------------------------------------------------------------------------------
    def _spawn(self, target, *args):
        """Runs target(*args) in a daemon thread that stop() waits for (a bounded time)."""
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self.lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _deliver(self, url, make, times=1, retries=0, backoff=0.1, forged=False):
        """POSTs make() → (body, headers) to `url`, `times` times in a row, in a daemon
        thread.  A try that gets no reply or a 5xx is retried up to `retries` times, the
        pause doubling from `backoff` (at most 30 s, cut short by stop())."""
        self._spawn(self._post_all, url, make, times, retries, backoff, forged)

    def _post_all(self, url, make, times, retries, backoff, forged):
        for _ in range(times):
            body, headers = make()
            for attempt in range(retries + 1):
                delivery = self._post(url, body, headers, forged)
                if delivery.status is not None and delivery.status < 500:
                    break
                if attempt == retries or self._stopping.wait(min(backoff * 2 ** attempt, 30)):
                    break

    def _post(self, url, body, headers, forged):
        parts = urlsplit(url)
        connection_class = (http.client.HTTPSConnection if parts.scheme == "https"
                            else http.client.HTTPConnection)
        delivery = Delivery(url, dict(headers), body, _parse_json(body), time.monotonic(),
                            forged=forged)
        try:
            conn = connection_class(parts.netloc, timeout=self.webhook_timeout)
            try:
                target = parts.path + (f"?{parts.query}" if parts.query else "")
                conn.request("POST", target or "/", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                delivery.status = response.status
            finally:
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            delivery.error = repr(exc)
        with self.lock:
            self.deliveries.append(delivery)
        return delivery

    # -- subclass hooks ------------------------------------------------------------------------
    def _plan_class(self):
        return Plan

    def _not_found(self, req):
        raise NotImplementedError

    def _method_not_allowed(self, req):
        raise NotImplementedError

    def _on_end(self, job):
        raise NotImplementedError


# -- the command line ------------------------------------------------------------------------

def cli_parser(description, key, ends):
    """The options every fake's command takes; a fake adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--key", action="append", help=f"an accepted API key (default {key})")
    parser.add_argument("--polls", type=int, default=Plan.polls,
                        help="polls answered 'processing' before a job ends")
    parser.add_argument("--after", type=float, help="also end each job after this many seconds")
    parser.add_argument("--end", default=Plan.end, choices=ends, help="how every job ends")
    return parser


def serve_until_signalled(fake):
    """Runs a fake as a command: prints its base URL, serves until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    fake.start()
    print(fake.base_url, flush=True)
    while not stop.wait(0.5):
        pass
    fake.stop()
    sys.exit(1 if fake.errors else 0)
