"""An upstream on 127.0.0.1 that checks each request's AWS SigV4 signature the
way AWS does, with botocore's own signer (pinned in tools/requirements.txt),
recomputed from the raw request as it arrived: method, path and query as
sent, the headers the signature names, the body.

Usage: python sigv4_verifier.py ACCESS_KEY_ID SECRET_ACCESS_KEY REGION SERVICE [SESSION_TOKEN]
Prints `listening PORT`, then serves until killed:
- a request whose signature checks out gets an SSE answer,
  `data: signature verified\\n\\n`; with `x-hostile-mode: echo`, the JSON of
  the headers it received instead (a reflecting upstream); to
  `/redirect?to=URL`, a 307 to URL;
- any other request gets 403 and a JSON body saying what did not match;
- `GET /_requests` (unsigned) returns every request seen: method, target,
  headers, body (base64) and the verdict, for the test to replay or tamper.
"""

import base64
import hashlib
import json
import re
import sys
import threading
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from serving import Handler, serve

ACCESS_KEY_ID, SECRET_ACCESS_KEY, REGION, SERVICE = sys.argv[1:5]
SESSION_TOKEN = sys.argv[5] if len(sys.argv) > 5 else None
AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<credential>[^,]+), SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})$"
)
SEEN = []
SEEN_LOCK = threading.Lock()


def verdict(method, target, headers, body):
    """None if the signature checks out, else why not."""
    authorization = headers.get("authorization")
    if authorization is None:
        return "no authorization header"
    match = AUTHORIZATION.match(authorization)
    if match is None:
        return f"authorization is not a SigV4 header: {authorization[:40]}"
    key_id, date, region, service, terminator = (match["credential"].split("/") + [""] * 5)[:5]
    if (key_id, region, service, terminator) != (ACCESS_KEY_ID, REGION, SERVICE, "aws4_request"):
        return f"credential scope {match['credential']} is not {ACCESS_KEY_ID}/<date>/{REGION}/{SERVICE}/aws4_request"
    signed = match["signed"].split(";")
    for required in ["host", "x-amz-date"] + (["x-amz-security-token"] if SESSION_TOKEN else []):
        if required not in signed:
            return f"{required} is not signed"
    amz_date = headers.get("x-amz-date", "")
    if amz_date[:8] != date:
        return f"x-amz-date {amz_date} is not of the credential's date {date}"
    if SESSION_TOKEN is not None and headers.get("x-amz-security-token") != SESSION_TOKEN:
        return "x-amz-security-token is not the session token"
    content_sha256 = headers.get("x-amz-content-sha256")
    if content_sha256 is not None and content_sha256 != hashlib.sha256(body).hexdigest():
        return "x-amz-content-sha256 is not the body's hash"
    request = AWSRequest(method=method, url=f"http://{headers.get('host', '')}{target}", data=body)
    for name in signed:
        for value in headers.get_all(name, []):
            request.headers[name] = value
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN), SERVICE, REGION)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if expected != match["signature"]:
        return f"the signature does not match; the canonical request botocore computed:\n{canonical}"
    return None


class Upstream(Handler):
    def do_GET(self):
        if self.path == "/_requests":
            with SEEN_LOCK:
                self.answer(200, "application/json", json.dumps(SEEN).encode())
            return
        self.verify()

    def do_POST(self):
        self.verify()

    def verify(self):
        body = self.body()
        why = verdict(self.command, self.path, self.headers, body)
        with SEEN_LOCK:
            SEEN.append({
                "method": self.command,
                "target": self.path,
                "headers": [[name, value] for name, value in self.headers.items()],
                "body": base64.b64encode(body).decode(),
                "verdict": why or "verified",
            })
        target = urllib.parse.urlsplit(self.path)
        if why is not None:
            self.answer(403, "application/json", json.dumps({"message": why}).encode())
        elif target.path == "/redirect":
            self.answer(307, "text/plain", b"", [("location", urllib.parse.parse_qs(target.query)["to"][0])])
        elif self.headers.get("x-hostile-mode") == "echo":
            echoed = {name: value for name, value in self.headers.items()}
            self.answer(200, "application/json", json.dumps(echoed).encode())
        else:
            self.answer(200, "text/event-stream", b"data: signature verified\n\n")


serve(Upstream)
