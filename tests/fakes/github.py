#!/usr/bin/env python3
"""A fake GitHub for writ's tests: the App API and git over smart HTTP.

HTTPS on 127.0.0.1 with a certificate the test made.  It checks what GitHub
checks, so writd can fail against it:

* the app JWT: alg RS256 and a valid RS256 signature with the app's public
  key (via openssl); iss the app id; iat and exp present as integers, iat
  not in the future, exp in the future and at most 10 minutes ahead;
* GET /api/repos/OWNER/REPO/installation answers the id of the installation
  holding that repository (404 else), counting lookups per owner;
* POST /api/app/installations/ID/access_tokens must carry both
  "repositories" and "permissions" (writ's own rule: omitted means
  "everything" on GitHub); every repository must be one of that
  installation's (422 else); it mints long dotted tokens (like GitHub's
  newer ones), answers with the permissions granted plus "metadata": "read"
  (which every GitHub App holds, and GitHub lists), and records the grant;
* DELETE /api/installation/token revokes the token it is called with.
* git (https://HOST/OWNER/REPO.git) runs the real `git http-backend` and
  admits only live tokens it minted: the repository must be granted,
  git-upload-pack needs contents read, git-receive-pack contents write.

Installations: 4242 holds REPOS/acme/*.git, 4343 REPOS/beta/*.git.

POST /_fake/mode {"mode": M} makes the API misbehave as GitHub could:
401 403 422 500 hang -- fail so (403: a primary rate limit that ends
within 2 s); broad-perms -- also grant administration
write; broad-all -- grant every repository of the installation
(repository_selection "all", no list); broad-extra -- also grant and list a
repository not asked for; metadata-write -- grant metadata write;
revokefail -- DELETE /installation/token answers 500; 403-forbidden -- a
403 that is not a rate limit ("Resource not accessible by integration",
with the x-ratelimit-* headers GitHub sends on every answer); slow --
answer every API call as "ok" would, 2 s late.  "ok" undoes it.  GET /_fake/tokens shows what was minted and revoked, API calls since
the last mode change, installation lookups per owner, token requests per
installation ("minted_calls", counted whatever the answer), and every
DELETE tried.

Rate limits, per installation, as GitHub documents them: POST
/_fake/ratelimit {"installation": ID, "seconds": S, "how": H} makes every
token request for ID answer, for S seconds, H "primary" -- 403 with
x-ratelimit-remaining 0 and x-ratelimit-reset (Unix seconds, when the
window ends) -- or "secondary" -- 429 with retry-after (seconds left).
Every other API answer carries x-ratelimit-limit/-remaining/-reset too
(remaining not 0): a reset time alone is no rate limit.
"""
import base64, json, os, secrets, ssl, subprocess, sys, tempfile, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = dict(a.split("=", 1) for a in sys.argv[1:])
APP_ID, PUB, REPOS = ARGS["app_id"], ARGS["pub"], ARGS["repos"]
INSTALLATIONS = {4242: "acme", 4343: "beta"}
STATE = {"mode": "ok", "tokens": {}, "calls": 0, "lookups": {}, "deletes": [],
         "limits": {}, "minted_calls": {}}
LOCK = threading.Lock()


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_ok(auth):
    """What GitHub checks of an app JWT; returns an error message or None."""
    if not auth.startswith("Bearer "):
        return "no bearer token"
    parts = auth[7:].split(".")
    if len(parts) != 3:
        return "not a JWT"
    try:
        head, claims, sig = json.loads(b64d(parts[0])), json.loads(b64d(parts[1])), b64d(parts[2])
    except Exception:
        return "undecodable JWT"
    now = time.time()
    if not isinstance(head, dict) or not isinstance(claims, dict):
        return "not a JWT"
    if head.get("alg") != "RS256":
        return "alg must be RS256"
    if "iss" not in claims or str(claims["iss"]) != APP_ID:
        return "'Issuer' claim ('iss') must be the app's id"
    iat, exp = claims.get("iat"), claims.get("exp")
    # NB. bool is an int in Python; GitHub wants numbers.
    if not isinstance(iat, int) or isinstance(iat, bool) or iat > now:
        return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
    if not isinstance(exp, int) or isinstance(exp, bool) or exp <= now or exp <= iat:
        return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
    if exp > now + 600:
        return "'Expiration time' claim ('exp') is too far in the future"
    with tempfile.TemporaryDirectory() as d:
        open(d + "/in", "wb").write((parts[0] + "." + parts[1]).encode())
        open(d + "/sig", "wb").write(sig)
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", PUB, "-signature",
                            d + "/sig", d + "/in"], capture_output=True)
        if r.returncode != 0:
            return "bad signature"
    return None


def installed(owner):
    """The installation of owner, and the names of its repositories."""
    for iid, o in INSTALLATIONS.items():
        if o == owner:
            d = os.path.join(REPOS, o)
            names = sorted(n[:-4] for n in os.listdir(d) if n.endswith(".git")) if os.path.isdir(d) else []
            return iid, names
    return None, []


def new_token():
    seg = lambda n: base64.urlsafe_b64encode(secrets.token_bytes(n)).rstrip(b"=").decode()
    return "ghs_" + seg(30) + "." + seg(300) + "." + seg(60)


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body=None, headers=()):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        names = {k.lower() for k, _ in headers}
        if self.path.startswith("/api/"):
            # GitHub's primary-limit headers, on every API answer.
            for k, v in (("x-ratelimit-limit", "5000"), ("x-ratelimit-remaining", "4999"),
                         ("x-ratelimit-reset", str(int(time.time()) + 3600))):
                if k not in names:
                    self.send_header(k, v)
        for k, v in headers:
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # --- API ---
    def api(self, method):
        path = self.path[4:]
        raw = self.body()
        if path == "/installation/token" and method == "DELETE":
            auth = self.headers.get("Authorization", "")
            tok = auth.partition(" ")[2] if auth.split(" ")[0] in ("token", "Bearer") else ""
            with LOCK:
                t = STATE["tokens"].get(tok)
                if STATE["mode"] == "revokefail":
                    status = 500
                elif t is None or t["revoked"]:
                    status = 401
                else:
                    t["revoked"], status = True, 204
                STATE["deletes"].append({"token": tok, "time": time.time(), "status": status})
            if status == 500:
                return self.reply(500, {"message": "Server Error"})
            if status == 401:
                return self.reply(401, {"message": "Bad credentials"})
            return self.reply(204)
        err = jwt_ok(self.headers.get("Authorization", ""))
        with LOCK:
            mode = STATE["mode"]
            STATE["calls"] += 1
        if mode == "hang":
            time.sleep(30)
        if mode == "slow":
            time.sleep(2)
        if mode == "401" or err:
            return self.reply(401, {"message": "A JSON web token could not be decoded: %s" % err})
        if mode == "403":
            return self.reply(403, {"message": "API rate limit exceeded"},
                              [("x-ratelimit-remaining", "0"),
                               ("x-ratelimit-reset", str(int(time.time()) + 2))])
        if mode == "500":
            return self.reply(500, {"message": "Server Error"})
        if mode == "403-forbidden":
            return self.reply(403, {"message": "Resource not accessible by integration"})
        parts = path.split("/")
        if len(parts) == 5 and parts[1] == "repos" and parts[4] == "installation" and method == "GET":
            owner, name = parts[2].lower(), parts[3].lower()
            with LOCK:
                STATE["lookups"][owner] = STATE["lookups"].get(owner, 0) + 1
            iid, names = installed(owner)
            if iid is None or name not in names:
                return self.reply(404, {"message": "Not Found"})
            return self.reply(200, {"id": iid, "account": {"login": owner},
                                    "app_id": int(APP_ID)})
        if (len(parts) == 5 and parts[1:3] == ["app", "installations"] and
                parts[4] == "access_tokens" and method == "POST"):
            owner = INSTALLATIONS.get(int(parts[3])) if parts[3].isdigit() else None
            if owner is None:
                return self.reply(404, {"message": "Not Found"})
            iid = int(parts[3])
            with LOCK:
                STATE["minted_calls"][str(iid)] = STATE["minted_calls"].get(str(iid), 0) + 1
                lim = STATE["limits"].get(iid)
            now = time.time()
            if lim is not None and now < lim["until"]:
                if lim["how"] == "secondary":
                    return self.reply(429, {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."},
                                      [("retry-after", str(max(1, int(lim["until"] - now + 0.999))))])
                return self.reply(403, {"message": "API rate limit exceeded for installation ID %d." % iid},
                                  [("x-ratelimit-remaining", "0"),
                                   ("x-ratelimit-reset", str(int(lim["until"] + 0.999)))])
            req = json.loads(raw or b"{}")
            if mode == "422":
                return self.reply(422, {"message": "There is at least one repository that does not exist or is not accessible to the parent installation."})
            # writ must always send both: omitted means "everything" on GitHub.
            if "repositories" not in req or "permissions" not in req:
                return self.reply(400, {"message": "fake: repositories and permissions are required"})
            _, names = installed(owner)
            asked = [n.lower() for n in req["repositories"]]
            if not asked or any(n not in names for n in asked):
                return self.reply(422, {"message": "There is at least one repository that does not exist or is not accessible to the parent installation."})
            perms = dict(req["permissions"])
            # Every GitHub App holds metadata read; GitHub lists it in every answer.
            perms.setdefault("metadata", "read")
            granted = list(asked)
            selection = "selected"
            if mode == "broad-perms":
                perms["administration"] = "write"
            elif mode == "metadata-write":
                perms["metadata"] = "write"
            elif mode == "broad-all":
                granted, selection = list(names), "all"
            elif mode == "broad-extra":
                granted += [n for n in names if n not in granted][:1]
            repos = [owner + "/" + n for n in granted]
            tok = new_token()
            with LOCK:
                STATE["tokens"][tok] = {"repos": repos, "permissions": perms, "mode": mode,
                                        "installation": int(parts[3]),
                                        "revoked": False, "expires": time.time() + 3600}
            answer = {"token": tok, "expires_at": "2099-01-01T00:00:00Z",
                      "permissions": perms, "repository_selection": selection}
            if selection == "selected":
                answer["repositories"] = [{"name": r.split("/")[1], "full_name": r} for r in repos]
            return self.reply(201, answer)
        return self.reply(404, {"message": "Not Found"})

    # --- git over smart HTTP ---
    def git(self, method):
        path, _, query = self.path.partition("?")
        parts = path.lstrip("/").split("/")
        if len(parts) < 3 or not parts[1].endswith(".git"):
            return self.reply(404, {"message": "Not Found"})
        repo = (parts[0] + "/" + parts[1][:-4]).lower()
        service = "git-receive-pack" if ("git-receive-pack" in query or path.endswith("/git-receive-pack")) else "git-upload-pack"
        auth = self.headers.get("Authorization", "")
        tok = None
        if auth.startswith("Basic "):
            user, _, tok = base64.b64decode(auth[6:]).decode().partition(":")
        with LOCK:
            t = STATE["tokens"].get(tok)
        if t is None or t["revoked"] or t["expires"] < time.time():
            self.body()
            return self.reply(401, {"message": "Bad credentials"},
                              [("WWW-Authenticate", 'Basic realm="fake-github"')])
        need = 2 if service == "git-receive-pack" else 1
        have = {"read": 1, "write": 2, "admin": 3}.get(t["permissions"].get("contents"), 0)
        if repo not in t["repos"] or have < need:
            self.body()
            return self.reply(403, {"message": "Permission to %s denied" % repo})
        env = dict(os.environ, GIT_PROJECT_ROOT=REPOS, GIT_HTTP_EXPORT_ALL="1",
                   PATH_INFO=path, QUERY_STRING=query, REQUEST_METHOD=method,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   REMOTE_USER="x-access-token", REMOTE_ADDR="127.0.0.1")
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        body = self.body()
        env["CONTENT_LENGTH"] = str(len(body))
        out = subprocess.run(["git", "http-backend"], env=env, input=body, capture_output=True).stdout
        head, _, rest = out.partition(b"\r\n\r\n")
        status = 200
        self_headers = []
        for line in head.split(b"\r\n"):
            k, _, v = line.decode().partition(":")
            if k.lower() == "status":
                status = int(v.strip().split()[0])
            elif k:
                self_headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in self_headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        self.wfile.write(rest)

    def route(self, method):
        if self.path == "/_fake/mode" and method == "POST":
            with LOCK:
                STATE["mode"] = json.loads(self.body())["mode"]
                STATE["calls"] = 0
            return self.reply(200, {"mode": STATE["mode"]})
        if self.path == "/_fake/ratelimit" and method == "POST":
            req = json.loads(self.body())
            with LOCK:
                STATE["limits"][int(req["installation"])] = {
                    "until": time.time() + float(req["seconds"]), "how": req.get("how", "primary")}
            return self.reply(200, {"ok": True})
        if self.path == "/_fake/tokens":
            with LOCK:
                return self.reply(200, {"calls": STATE["calls"], "lookups": STATE["lookups"],
                                        "minted_calls": STATE["minted_calls"],
                                        "deletes": STATE["deletes"], "tokens": [
                    dict(v, token=k) for k, v in STATE["tokens"].items()]})
        if self.path.startswith("/api/"):
            return self.api(method)
        return self.git(method)

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_DELETE(self):
        self.route("DELETE")


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(ARGS["cert"], ARGS["key"])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(ARGS["port_file"] + ".tmp", "w").write(str(srv.server_address[1]))
os.rename(ARGS["port_file"] + ".tmp", ARGS["port_file"])
srv.serve_forever()
