#!/usr/bin/env python3
"""A fake GitHub for writ's tests: the App API and git over smart HTTP.

HTTPS on 127.0.0.1 with a certificate the test made.  It checks what GitHub
checks, so writd can fail against it:

* the app JWT: RS256 signature with the app's public key (via openssl),
  iss, iat/exp window (exp at most 10 minutes ahead);
* POST /api/app/installations/4242/access_tokens must carry both
  "repositories" and "permissions"; it mints long dotted tokens (like
  GitHub's newer ones) and records what they grant;
* DELETE /api/installation/token revokes the token it is called with;
* git (https://HOST/OWNER/REPO.git) runs the real `git http-backend` and
  admits only live tokens it minted: the repository must be granted,
  git-upload-pack needs contents read, git-receive-pack contents write.

POST /_fake/mode {"mode": "ok|401|403|422|500|hang|broad|revokefail"} makes the API
fail as GitHub does; GET /_fake/tokens shows what was minted and revoked.
"""
import base64, json, os, secrets, ssl, subprocess, sys, tempfile, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = dict(a.split("=", 1) for a in sys.argv[1:])
APP_ID, PUB, REPOS = ARGS["app_id"], ARGS["pub"], ARGS["repos"]
INSTALLATION = 4242
STATE = {"mode": "ok", "tokens": {}, "calls": 0}
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
    if head.get("alg") != "RS256":
        return "alg must be RS256"
    if str(claims.get("iss")) != APP_ID:
        return "wrong iss"
    if not (claims.get("iat", 0) <= now + 5 and claims.get("exp", 0) > now):
        return "expired or not yet valid"
    if claims["exp"] > now + 600 + 5:
        return "exp too far in the future"
    with tempfile.TemporaryDirectory() as d:
        open(d + "/in", "wb").write((parts[0] + "." + parts[1]).encode())
        open(d + "/sig", "wb").write(sig)
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", PUB, "-signature",
                            d + "/sig", d + "/in"], capture_output=True)
        if r.returncode != 0:
            return "bad signature"
    return None


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
            tok = self.headers.get("Authorization", "")[6:]
            if STATE["mode"] == "revokefail":
                return self.reply(500, {"message": "Server Error"})
            with LOCK:
                t = STATE["tokens"].get(tok)
                if t is None or t["revoked"]:
                    return self.reply(401, {"message": "Bad credentials"})
                t["revoked"] = True
            return self.reply(204)
        err = jwt_ok(self.headers.get("Authorization", ""))
        with LOCK:
            mode = STATE["mode"]
            STATE["calls"] += 1
        if mode == "hang":
            time.sleep(30)
        if mode == "401" or err:
            return self.reply(401, {"message": "A JSON web token could not be decoded: %s" % err})
        if mode == "403":
            return self.reply(403, {"message": "API rate limit exceeded"},
                              [("x-ratelimit-remaining", "0"),
                               ("x-ratelimit-reset", str(int(time.time()) + 30))])
        if mode == "500":
            return self.reply(500, {"message": "Server Error"})
        if path.startswith("/repos/") and path.endswith("/installation") and method == "GET":
            return self.reply(200, {"id": INSTALLATION})
        if path == "/app/installations/%d/access_tokens" % INSTALLATION and method == "POST":
            req = json.loads(raw or b"{}")
            if mode == "422":
                return self.reply(422, {"message": "There is at least one repository that does not exist or is not accessible to the parent installation."})
            # writ must always send both: omitted means "everything" on GitHub.
            if "repositories" not in req or "permissions" not in req:
                return self.reply(400, {"message": "fake: repositories and permissions are required"})
            owner = "acme"
            perms = dict(req["permissions"])
            repos = [owner + "/" + n.lower() for n in req["repositories"]]
            answer_repos = [{"name": r.split("/")[1], "full_name": r} for r in repos]
            selection = "selected"
            if mode == "broad":
                perms["administration"] = "write"
                selection = "all"
            tok = new_token()
            with LOCK:
                STATE["tokens"][tok] = {"repos": repos, "permissions": perms,
                                        "revoked": False, "expires": time.time() + 3600}
            return self.reply(201, {"token": tok, "expires_at": "2099-01-01T00:00:00Z",
                                    "permissions": perms, "repository_selection": selection,
                                    "repositories": answer_repos})
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
        if self.path == "/_fake/tokens":
            with LOCK:
                return self.reply(200, {"calls": STATE["calls"], "tokens": [
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
