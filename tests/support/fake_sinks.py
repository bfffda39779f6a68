#!/usr/bin/python3
"""fake_sinks.py - scriptable stand-ins for LogBeacon and the Telegram Bot API.

    fake_sinks.py --kind logbeacon|telegram --port 0 --port-file FILE [--host 127.0.0.1]
                  [--lenient] [--verbose]

Listens on 127.0.0.1 (HTTP/1.1, keep-alive) and writes the bound port to FILE
(atomically) once it accepts connections. Standard library only.

Sink endpoints
  logbeacon  POST <any path>              recorded; default 200 {"ok":true}
  telegram   POST /bot<token>/sendMessage  recorded; default 200 {"ok":true,"result":{"message_id":N}}
             Like the real API, a sendMessage is checked first (unless --lenient):
             chat_id present, parse_mode HTML entities well-formed, text 1..4096
             characters (UTF-16 units) after entity parsing and trimming; a bad
             one is answered 400 with Telegram's description and consumes no rule.
             Any other path: 404.

Control endpoints (JSON in, JSON out; 400 {"error": "..."} on bad input)
  POST /_control  {"rules": [{"match": "substring of path or body (optional)",
                              "responses": [{"status": 500}, {"status": 200}]}],
                   "default": {...} (optional), "append": false (optional)}
                  Replaces the rules (or appends to them). A request consumes the
                  next response of the first rule that matches and has one left.
  POST /_default  a response object: the answer when no rule applies.
  GET  /_received JSON list, oldest first, of {"t": unix float, "path", "token"
                  (telegram), "chat_id", "text", "parse_mode" (telegram), "body"
                  (parsed JSON or raw text), "content_type", "conn" (client
                  address: equal for requests on one kept-alive connection),
                  "status" (what was answered)}.
  POST /_reset    clears rules, default and received requests.

Response objects (every key optional)
  status       HTTP status (default 200)
  retry_after  seconds: a 429 gets Telegram's parameters.retry_after (telegram)
               or a Retry-After header (logbeacon)
  api_key      logbeacon: {"ok":true,"api_key":...} on success
  description  the error text (telegram "description", logbeacon "error")
  stall_s      wait this long before answering (to cause client timeouts)
  close        true: drop the connection without answering
  body         answer this instead (a string is sent raw, anything else as JSON)
  headers      {"Name": "value"} added to the answer
"""

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESPONSE_KEYS = {"status", "retry_after", "api_key", "description", "stall_s", "close", "body", "headers"}
REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           409: "Conflict", 413: "Request Entity Too Large", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}
TG_PATH = re.compile(r"^/bot([^/]+)/sendMessage/?$")
TG_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
           "code", "pre", "blockquote", "tg-emoji"}
TG_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


class ControlError(ValueError):
    """Bad input on a control endpoint: the message names what is wrong."""


def check_response(obj, where):
    """Validates one scripted response object and returns it."""
    if not isinstance(obj, dict):
        raise ControlError(f"{where} must be an object, got {type(obj).__name__}")
    unknown = set(obj) - RESPONSE_KEYS
    if unknown:
        raise ControlError(f"{where} has unknown key(s) {sorted(unknown)}; "
                           f"allowed: {sorted(RESPONSE_KEYS)}")
    status = obj.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ControlError(f"{where}.status must be an integer 100..599, got {status!r}")
    for key in ("retry_after", "stall_s"):
        if key in obj and (isinstance(obj[key], bool) or not isinstance(obj[key], (int, float))
                           or obj[key] < 0):
            raise ControlError(f"{where}.{key} must be a number >= 0, got {obj[key]!r}")
    for key in ("api_key", "description"):
        if key in obj and not isinstance(obj[key], str):
            raise ControlError(f"{where}.{key} must be a string, got {obj[key]!r}")
    if "close" in obj and not isinstance(obj["close"], bool):
        raise ControlError(f"{where}.close must be true or false")
    if "headers" in obj and (not isinstance(obj["headers"], dict) or
                             not all(isinstance(k, str) and isinstance(v, str)
                                     for k, v in obj["headers"].items())):
        raise ControlError(f"{where}.headers must be an object of strings")
    return dict(obj)


def check_rules(rules):
    """Validates the "rules" list of /_control and returns fresh rule records."""
    if not isinstance(rules, list):
        raise ControlError(f"rules must be a list, got {type(rules).__name__}")
    out = []
    for i, rule in enumerate(rules):
        where = f"rules[{i}]"
        if not isinstance(rule, dict):
            raise ControlError(f"{where} must be an object")
        unknown = set(rule) - {"match", "responses"}
        if unknown:
            raise ControlError(f"{where} has unknown key(s) {sorted(unknown)}; allowed: match, responses")
        match = rule.get("match")
        if match is not None and not isinstance(match, str):
            raise ControlError(f"{where}.match must be a string")
        responses = rule.get("responses")
        if not isinstance(responses, list) or not responses:
            raise ControlError(f"{where}.responses must be a non-empty list")
        out.append({"match": match,
                    "responses": [check_response(r, f"{where}.responses[{k}]")
                                  for k, r in enumerate(responses)]})
    return out


def tg_parse_html(text):
    """Returns (plain text, None) for Telegram HTML, or (None, error description)."""
    plain, i, stack = [], 0, []
    while i < len(text):
        c = text[i]
        if c == "&":
            m = TG_ENTITY.match(text, i)
            if not m:
                return None, f"Bad Request: can't parse entities: unsupported entity at offset {i}"
            name = m.group(1)
            plain.append({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(name)
                         or chr(int(name[2:], 16) if name.startswith("#x") else int(name[1:])))
            i = m.end()
        elif c == "<":
            end = text.find(">", i)
            if end < 0:
                return None, f"Bad Request: can't parse entities: unclosed start tag at offset {i}"
            tag = text[i + 1:end].strip()
            closing = tag.startswith("/")
            name = tag.lstrip("/").split()[0].lower() if tag.lstrip("/") else ""
            if name not in TG_TAGS:
                return None, (f"Bad Request: can't parse entities: unsupported start tag \"{name}\" "
                              f"at offset {i}")
            if closing:
                if not stack or stack.pop() != name:
                    return None, f"Bad Request: can't parse entities: unexpected end tag at offset {i}"
            else:
                stack.append(name)
            i = end + 1
        elif c == ">":
            return None, f"Bad Request: can't parse entities: unexpected '>' at offset {i}"
        else:
            plain.append(c)
            i += 1
    if stack:
        return None, f"Bad Request: can't parse entities: can't find end tag corresponding to start tag \"{stack[-1]}\""
    return "".join(plain), None


def utf16_units(text):
    return len(text.encode("utf-16-le")) // 2


def tg_check(body):
    """Returns None when a sendMessage body would be accepted, else Telegram's description."""
    if not isinstance(body, dict):
        return "Bad Request: message text is empty"
    if body.get("chat_id") in (None, ""):
        return "Bad Request: chat_id is empty"
    text = body.get("text")
    if not isinstance(text, str):
        return "Bad Request: message text is empty"
    mode = body.get("parse_mode")
    if isinstance(mode, str) and mode.lower() == "html":
        text, err = tg_parse_html(text)
        if err:
            return err
    text = text.strip()
    if not text:
        return "Bad Request: message text is empty"
    if utf16_units(text) > 4096:
        return "Bad Request: message is too long"
    return None


class State:
    """Everything the fake remembers; one lock guards it."""

    def __init__(self, kind):
        self.kind = kind
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.rules = []
        self.default = {}
        self.received = []
        self.message_id = 0

    def pick(self, path, raw):
        """Consumes and returns the scripted response for a request, or the default."""
        for rule in self.rules:
            if rule["responses"] and (rule["match"] is None or rule["match"] in path or rule["match"] in raw):
                return rule["responses"].pop(0)
        return dict(self.default)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake_sinks/1"
    state = None  # set by main()
    lenient = False
    verbose = False

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("fake_sinks: " + (fmt % args) + "\n")

    def send_json(self, status, obj, headers=None):
        data = obj.encode() if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status, REASONS.get(status))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def control_json(self, raw):
        try:
            return json.loads(raw.decode("utf-8") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ControlError(f"body is not JSON: {e}") from None

    def do_GET(self):
        if self.path.split("?")[0] == "/_received":
            with self.state.lock:
                received = list(self.state.received)
            self.send_json(200, received)
        else:
            self.send_json(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    def do_POST(self):
        raw = self.read_body()
        path = self.path.split("?")[0]
        try:
            if path == "/_control":
                self.control(self.control_json(raw))
                return
            if path == "/_default":
                obj = check_response(self.control_json(raw), "default")
                with self.state.lock:
                    self.state.default = obj
                self.send_json(200, {"ok": True})
                return
            if path == "/_reset":
                with self.state.lock:
                    self.state.reset()
                self.send_json(200, {"ok": True})
                return
        except ControlError as e:
            self.send_json(400, {"error": str(e)})
            return
        self.sink(path, raw)

    def control(self, obj):
        if not isinstance(obj, dict):
            raise ControlError("body must be a JSON object such as {\"rules\": [...]}")
        unknown = set(obj) - {"rules", "default", "append"}
        if unknown:
            raise ControlError(f"unknown key(s) {sorted(unknown)}; allowed: rules, default, append")
        rules = check_rules(obj.get("rules", []))
        default = check_response(obj["default"], "default") if "default" in obj else None
        with self.state.lock:
            self.state.rules = (self.state.rules + rules) if obj.get("append") else rules
            if default is not None:
                self.state.default = default
        self.send_json(200, {"ok": True, "rules": len(rules)})

    def sink(self, path, raw):
        text = raw.decode("utf-8", errors="replace")
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            body = text
        record = {"t": time.time(), "path": path, "body": body,
                  "content_type": self.headers.get("Content-Type"),
                  "conn": f"{self.client_address[0]}:{self.client_address[1]}"}
        check = None
        if self.state.kind == "telegram":
            m = TG_PATH.match(path)
            if not m:
                record["status"] = 404
                with self.state.lock:
                    self.state.received.append(record)
                self.send_json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            record["token"] = m.group(1)
            if isinstance(body, dict):
                for key in ("chat_id", "text", "parse_mode"):
                    record[key] = body.get(key)
            check = None if self.lenient else tg_check(body)
        with self.state.lock:
            resp = {"status": 400, "description": check} if check else self.state.pick(path, text)
            status = resp.get("status", 200)
            if self.state.kind == "telegram" and 200 <= status <= 299 and "body" not in resp:
                self.state.message_id += 1
                resp["_message_id"] = self.state.message_id
            record["status"] = None if resp.get("close") else status
            self.state.received.append(record)
        if resp.get("stall_s"):
            time.sleep(resp["stall_s"])
        if resp.get("close"):
            self.close_connection = True
            return
        try:
            self.answer(resp, status)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its timeout)

    def answer(self, resp, status):
        headers = dict(resp.get("headers") or {})
        if "body" in resp:
            self.send_json(status, resp["body"], headers)
            return
        ok = 200 <= status <= 299
        desc = resp.get("description") or REASONS.get(status, f"HTTP {status}")
        if self.state.kind == "telegram":
            if ok:
                out = {"ok": True, "result": {"message_id": resp.get("_message_id", 0)}}
            else:
                out = {"ok": False, "error_code": status, "description": desc}
                if "retry_after" in resp:
                    ra = resp["retry_after"]
                    out["parameters"] = {"retry_after": ra}
                    if not resp.get("description"):
                        out["description"] = f"Too Many Requests: retry after {ra}"
        else:
            out = {"ok": True} if ok else {"ok": False, "error": desc}
            if "api_key" in resp:
                out["api_key"] = resp["api_key"]
            if "retry_after" in resp:
                headers.setdefault("Retry-After", str(int(resp["retry_after"])))
        self.send_json(status, out, headers)


def write_port_file(path, port):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Scriptable fake LogBeacon / Telegram Bot API.")
    ap.add_argument("--kind", required=True, choices=["logbeacon", "telegram"])
    ap.add_argument("--port", type=int, default=0, help="port to listen on (0: any free one)")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--lenient", action="store_true", help="telegram: do not check sendMessage bodies")
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = ap.parse_args(argv)

    Handler.state = State(args.kind)
    Handler.lenient = args.lenient
    Handler.verbose = args.verbose
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    try:
        server = ThreadingHTTPServer((args.host, args.port), Handler)
    except OSError as e:
        print(f"fake_sinks: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 1

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    port = server.server_address[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    if args.verbose:
        print(f"fake_sinks: {args.kind} listening on {args.host}:{port}", file=sys.stderr)
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
