#!/usr/bin/env python3
"""A fake OIDC issuer for writ's tests: CI providers' ID tokens (GitHub
Actions, GitLab) and the JWKS that verifies them.

python3's standard library and the openssl CLI only.  HTTPS on 127.0.0.1
with a certificate the test made (cert=, key=); it writes its port to
port_file= once it listens, and keeps its private keys in dir= (0600).

One process serves several issuers ("tenants", tenants=gh,gl; the first is
the default), each under a path of its own, as GitHub Enterprise Server
(https://HOST/_services/token) and GitLab under a relative URL do:

* iss is https://127.0.0.1:PORT/TENANT;
* GET /TENANT/.well-known/openid-configuration: issuer, jwks_uri, the
  algorithms (RS256, ES256);
* GET /TENANT/.well-known/jwks: the tenant's published public keys, an RSA
  (RS256) and an EC P-256 (ES256) key, made with the openssl CLI at start,
  each with a kid of its own; 503 during an outage.  Every fetch is counted.

Control API (JSON in, JSON out; "tenant" picks the issuer, default the
first):

POST /_fake/mint {"claims": {...}, "alg": "RS256"|"ES256", "kid": K,
                  "exp_in": S, "break": B, "tenant": T}
    a signed ID token -> {"token": JWT, "kid": K}.  Claims default to iss
    (the tenant's), aud (aud= at start, "writ"), iat and nbf (now), exp
    (now + exp_in, default 300), jti (random); a claim given wins, a claim
    given as null is left out.  kid: sign with that key (current or
    rotated out, as long as the fake made it), else the current key of the
    alg.  break: "none" (alg none, empty signature), "hs256-pubkey" (HS256,
    HMAC keyed with the RSA public key's PEM, kid the RSA key's: the
    RS256/HS256 confusion), "unknown-kid" (a valid signature by a key never
    published, under a kid of its own), "forged-sig" (the current kid, signed
    by another key).
POST /_fake/rotate {"keep_old": bool, "tenant": T}
    new RSA and EC keys with new kids sign from now on; the old ones stay
    in the JWKS with keep_old, else leave it -> {"kids": [...]}.
POST /_fake/outage {"on": bool}
    every tenant's JWKS answers 503 while on (discovery keeps answering).
GET  /_fake/state
    {"outage": b, "tenants": {T: {"iss", "jwks_fetches", "last_fetch" (any
    answer), "last_ok" (a 200), "kids": published kids, "current": {"RS256": kid, "ES256": kid}}}}

The CI providers' token endpoints, so the real runner hooks can run:

POST /_fake/gh/job {"claims": {...}, "tenant": T, "exp_in": S}
    a GitHub Actions job: -> {"request_url", "request_token"}, the values
    of ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN.
GET  REQUEST_URL&audience=AUD  with "Authorization: bearer REQUEST_TOKEN"
    as GitHub answers: {"count": N, "value": JWT}, the job's claims, aud
    AUD (GitHub's default without one: https://github.com/OWNER), RS256;
    401 without the right bearer token.  Requests are counted per job and
    any request token seen on a query string is recorded (it must not be).
"""
import base64, hashlib, hmac, json, os, secrets, ssl, subprocess, sys, tempfile, threading, time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = dict(a.split("=", 1) for a in sys.argv[1:])
TENANTS = ARGS.get("tenants", "gh").split(",")
AUD = ARGS.get("aud", "writ")
KEYDIR = ARGS.get("dir") or tempfile.mkdtemp(prefix="fake-oidc-")
LOCK = threading.Lock()
STATE = {"outage": False, "tenants": {}, "jobs": {}, "leaks": 0}
PORT = None


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def ossl(*args, data=None):
    r = subprocess.run(["openssl", *args], input=data, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (args[0], r.stderr.decode(errors="replace")))
    return r.stdout


def new_key(alg):
    """A fresh key made by the openssl CLI: (kid, private PEM path, its JWK)."""
    kid = secrets.token_hex(8)
    path = os.path.join(KEYDIR, kid + ".pem")
    if alg == "RS256":
        ossl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path)
        mod = ossl("rsa", "-in", path, "-noout", "-modulus").decode().strip().split("=", 1)[1]
        text = ossl("rsa", "-in", path, "-noout", "-text").decode()
        e = int(text.split("publicExponent:")[1].split()[0])
        jwk = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
               "n": b64u(bytes.fromhex(mod)), "e": b64u(e.to_bytes((e.bit_length() + 7) // 8, "big"))}
    else:
        ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
        # The SubjectPublicKeyInfo ends with the point, uncompressed: 04 || x || y.
        point = ossl("pkey", "-in", path, "-pubout", "-outform", "DER")[-65:]
        assert point[0] == 4
        jwk = {"kty": "EC", "alg": "ES256", "use": "sig", "kid": kid, "crv": "P-256",
               "x": b64u(point[1:33]), "y": b64u(point[33:])}
    os.chmod(path, 0o600)
    return {"kid": kid, "alg": alg, "path": path, "jwk": jwk}


def der_to_raw(der):
    """An ECDSA-Sig-Value (SEQUENCE {INTEGER r, INTEGER s}) as JWS wants it: r || s, 32 bytes each."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\0")
        out += v.rjust(32, b"\0")
        i += 2 + n
    return out


def sign(key, data):
    sig = ossl("dgst", "-sha256", "-sign", key["path"], data=data)
    return der_to_raw(sig) if key["alg"] == "ES256" else sig


def tenant(name):
    t = STATE["tenants"].get(name or TENANTS[0])
    if t is None:
        raise KeyError("no tenant %r" % name)
    return t


def make_tenant(name):
    rsa, ec = new_key("RS256"), new_key("ES256")
    return {"name": name, "keys": {rsa["kid"]: rsa, ec["kid"]: ec},
            "published": [rsa["kid"], ec["kid"]],
            "current": {"RS256": rsa["kid"], "ES256": ec["kid"]},
            "jwks_fetches": 0, "last_fetch": 0, "last_ok": 0}


def iss(t):
    return "https://127.0.0.1:%d/%s" % (PORT, t["name"])


def mint(req):
    """A token as asked (see the top of the file); raises ValueError on a bad request."""
    with LOCK:
        t = tenant(req.get("tenant"))
        now = int(time.time())
        claims = {"iss": iss(t), "aud": AUD, "iat": now, "nbf": now,
                  "exp": now + int(req.get("exp_in", 300)), "jti": secrets.token_hex(16)}
        for k, v in (req.get("claims") or {}).items():
            if v is None:
                claims.pop(k, None)
            else:
                claims[k] = v
        alg = req.get("alg", "RS256")
        if alg not in ("RS256", "ES256"):
            raise ValueError("alg must be RS256 or ES256 (use break for the rest)")
        kid = req.get("kid") or t["current"][alg]
        key = t["keys"].get(kid)
        if key is None or key["alg"] != alg:
            raise ValueError("no %s key with kid %r" % (alg, kid))
        brk = req.get("break")
    head = {"alg": alg, "typ": "JWT", "kid": kid}
    if brk == "none":
        head = {"alg": "none", "typ": "JWT"}
    elif brk == "hs256-pubkey":
        rsa = t["keys"][t["current"]["RS256"]]
        head = {"alg": "HS256", "typ": "JWT", "kid": rsa["kid"]}
    elif brk == "unknown-kid":
        key = new_key(alg)		# never published
        head["kid"] = key["kid"]
    elif brk == "forged-sig":
        key = new_key(alg)		# signs under the published kid
    elif brk is not None:
        raise ValueError("unknown break %r" % brk)
    signing_input = (b64u(json.dumps(head, separators=(",", ":")).encode()) + "." +
                     b64u(json.dumps(claims, separators=(",", ":")).encode())).encode()
    if brk == "none":
        sig = b""
    elif brk == "hs256-pubkey":
        pub = ossl("pkey", "-in", rsa["path"], "-pubout")
        sig = hmac.new(pub, signing_input, hashlib.sha256).digest()
    else:
        sig = sign(key, signing_input)
    return {"token": signing_input.decode() + "." + b64u(sig), "kid": head.get("kid")}


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def json_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return json.loads(raw or b"{}")

    def do_GET(self):
        path, _, query = self.path.partition("?")
        q = urllib.parse.parse_qs(query)
        parts = path.strip("/").split("/")
        if path == "/_fake/state":
            with LOCK:
                return self.reply(200, {"outage": STATE["outage"], "leaks": STATE["leaks"], "tenants": {
                    n: {"iss": iss(t), "jwks_fetches": t["jwks_fetches"], "last_fetch": t["last_fetch"],
                        "last_ok": t["last_ok"], "kids": list(t["published"]), "current": dict(t["current"])}
                    for n, t in STATE["tenants"].items()}})
        if path == "/_fake/gh/idtoken":
            return self.gh_idtoken(q)
        if len(parts) == 3 and parts[0] in STATE["tenants"] and parts[1] == ".well-known":
            t = STATE["tenants"][parts[0]]
            if parts[2] == "openid-configuration":
                return self.reply(200, {"issuer": iss(t), "jwks_uri": iss(t) + "/.well-known/jwks",
                                        "subject_types_supported": ["public"],
                                        "response_types_supported": ["id_token"],
                                        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                                        "scopes_supported": ["openid"]})
            if parts[2] == "jwks":
                with LOCK:
                    t["jwks_fetches"] += 1
                    t["last_fetch"] = time.time()
                    if STATE["outage"]:
                        body, status = {"message": "Service Unavailable"}, 503
                    else:
                        body, status = {"keys": [t["keys"][k]["jwk"] for k in t["published"]]}, 200
                        t["last_ok"] = time.time()
                return self.reply(status, body)
        return self.reply(404, {"message": "Not Found"})

    def gh_idtoken(self, q):
        """GitHub's ID token endpoint: bearer request token, audience on the query."""
        job_id = (q.get("job") or [""])[0]
        auth = self.headers.get("Authorization", "")
        with LOCK:
            job = STATE["jobs"].get(job_id)
            if any(job2["request_token"] in v for job2 in STATE["jobs"].values()
                   for vs in q.values() for v in vs):
                STATE["leaks"] += 1
        scheme, _, tok = auth.partition(" ")
        if (job is None or scheme.lower() != "bearer" or
                not hmac.compare_digest(tok.encode(), job["request_token"].encode())):
            return self.reply(401, {"message": "Unauthorized"})
        claims = dict(job["claims"])
        aud = (q.get("audience") or [None])[0]
        claims["aud"] = aud if aud else "https://github.com/" + str(claims.get("repository_owner", ""))
        with LOCK:
            job["count"] += 1
            count = job["count"]
        tok = mint({"claims": claims, "tenant": job["tenant"], "exp_in": job["exp_in"]})["token"]
        return self.reply(200, {"count": count, "value": tok})

    def do_POST(self):
        try:
            req = self.json_body()
            if self.path == "/_fake/mint":
                return self.reply(200, mint(req))
            if self.path == "/_fake/rotate":
                with LOCK:
                    t = tenant(req.get("tenant"))
                rsa, ec = new_key("RS256"), new_key("ES256")
                with LOCK:
                    t["keys"][rsa["kid"]], t["keys"][ec["kid"]] = rsa, ec
                    if not req.get("keep_old"):
                        t["published"] = []
                    t["published"] += [rsa["kid"], ec["kid"]]
                    t["current"] = {"RS256": rsa["kid"], "ES256": ec["kid"]}
                    return self.reply(200, {"kids": list(t["published"]), "current": t["current"]})
            if self.path == "/_fake/outage":
                with LOCK:
                    STATE["outage"] = bool(req.get("on"))
                return self.reply(200, {"outage": STATE["outage"]})
            if self.path == "/_fake/gh/job":
                job_id = secrets.token_hex(8)
                with LOCK:
                    tenant(req.get("tenant"))
                    STATE["jobs"][job_id] = {"claims": req.get("claims") or {}, "tenant": req.get("tenant"),
                                             "exp_in": int(req.get("exp_in", 300)), "count": 0,
                                             "request_token": secrets.token_urlsafe(32)}
                    job = STATE["jobs"][job_id]
                # Like GitHub's: the URL already has a query; the client appends &audience=.
                return self.reply(200, {"request_url": "https://127.0.0.1:%d/_fake/gh/idtoken?api-version=2.0&job=%s"
                                        % (PORT, job_id), "request_token": job["request_token"]})
        except (ValueError, KeyError, TypeError) as e:
            return self.reply(400, {"message": str(e)})
        return self.reply(404, {"message": "Not Found"})


for name in TENANTS:
    STATE["tenants"][name] = make_tenant(name)
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
PORT = srv.server_address[1]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(ARGS["cert"], ARGS["key"])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(ARGS["port_file"] + ".tmp", "w").write(str(PORT))
os.rename(ARGS["port_file"] + ".tmp", ARGS["port_file"])
srv.serve_forever()
