"""A Google-style OAuth token endpoint and the API behind it, on 127.0.0.1.

Usage: python google_token.py PUBLIC_KEY_PEM CLIENT_EMAIL SCOPE LIFETIMES [reject]
LIFETIMES is a comma-separated list of `expires_in` values for the tokens it
issues in turn (the last one repeats). Prints `listening PORT`, then serves
until killed:
- `POST /token`: a JWT bearer grant (RFC 7523). The assertion's RS256
  signature is checked with OpenSSL against the public key (independently of
  the host's `ring`), and its claims: `iss` = CLIENT_EMAIL, `aud` = this
  endpoint's URL, `scope` = SCOPE, `iat` not in the future, `exp` after now and
  at most an hour after `iat`. A good one gets a fresh `access_token`; a bad
  one gets 400 `invalid_grant`; with `reject`, every one does, its
  description quoting the assertion.
- any other request: 200 and an SSE answer naming the token's number if it
  carries `authorization: Bearer <a token issued here, not expired>`, else
  401 UNAUTHENTICATED; with `x-hostile-mode: echo`, the JSON of its headers.
- `GET /_stats`: `{"exchanges": N, "refused": M}`.
"""

import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from serving import Handler, serve

PUBLIC_KEY, CLIENT_EMAIL, SCOPE, LIFETIMES = sys.argv[1:5]
LIFETIMES = [int(n) for n in LIFETIMES.split(",")]
REJECT = len(sys.argv) > 5 and sys.argv[5] == "reject"
LOCK = threading.Lock()
TOKENS = {}  # token -> (number, expires at)
STATS = {"exchanges": 0, "refused": 0}


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_assertion(assertion, audience):
    """None if the assertion is good, else why not."""
    parts = assertion.split(".")
    if len(parts) != 3:
        return "the assertion is not a JWT"
    header, claims = json.loads(unb64(parts[0])), json.loads(unb64(parts[1]))
    if header.get("alg") != "RS256" or header.get("typ") != "JWT":
        return f"header {header} is not RS256 JWT"
    with tempfile.NamedTemporaryFile(delete=False) as signature:
        signature.write(unb64(parts[2]))
    try:
        checked = subprocess.run(
            ["openssl", "dgst", "-sha256", "-verify", PUBLIC_KEY, "-signature", signature.name],
            input=f"{parts[0]}.{parts[1]}".encode(),
            capture_output=True,
        )
    finally:
        os.unlink(signature.name)
    if checked.returncode != 0:
        return "Invalid JWT Signature."
    now = time.time()
    expected = {"iss": CLIENT_EMAIL, "aud": audience, "scope": SCOPE}
    for claim, value in expected.items():
        if claims.get(claim) != value:
            return f"claim {claim} is {claims.get(claim)!r}, not {value!r}"
    iat, exp = claims.get("iat", 0), claims.get("exp", 0)
    if iat > now + 60 or exp <= now or exp - iat > 3600:
        return f"iat {iat} / exp {exp} are not a valid window around {now:.0f}"
    return None


class Upstream(Handler):
    def do_GET(self):
        if self.path == "/_stats":
            with LOCK:
                self.answer(200, "application/json", json.dumps(STATS).encode())
            return
        self.api()

    def do_POST(self):
        if self.path == "/token":
            self.token()
        else:
            self.api()

    def token(self):
        body = self.body().decode()
        form = urllib.parse.parse_qs(body)
        audience = f"http://{self.headers.get('host')}/token"
        assertion = (form.get("assertion") or [""])[0]
        # Refusing, it quotes the assertion, as an error body may: the host must not pass it on.
        why = f"this endpoint refuses every assertion, such as {assertion}" if REJECT else None
        if why is None and form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            why = f"grant_type {form.get('grant_type')} is not the JWT bearer grant"
        if why is None:
            why = check_assertion(assertion, audience)
        with LOCK:
            if why is not None:
                STATS["refused"] += 1
                error = {"error": "invalid_grant", "error_description": why}
                self.answer(400, "application/json", json.dumps(error).encode())
                return
            number = STATS["exchanges"]
            STATS["exchanges"] += 1
            lifetime = LIFETIMES[min(number, len(LIFETIMES) - 1)]
            token = f"ya29.test-{number}-{secrets.token_hex(16)}"
            TOKENS[token] = (number, time.time() + lifetime)
        reply = {"access_token": token, "expires_in": lifetime, "token_type": "Bearer"}
        self.answer(200, "application/json", json.dumps(reply).encode())

    def api(self):
        self.body()
        given = (self.headers.get("authorization") or "").removeprefix("Bearer ")
        with LOCK:
            number, expires = TOKENS.get(given, (None, 0))
        if number is None or expires <= time.time():
            error = {"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}
            self.answer(401, "application/json", json.dumps(error).encode())
        elif self.headers.get("x-hostile-mode") == "echo":
            echoed = {name: value for name, value in self.headers.items()}
            self.answer(200, "application/json", json.dumps(echoed).encode())
        else:
            self.answer(200, "text/event-stream", f"data: token {number}\n\n".encode())


serve(Upstream)
