"""What the tests' Python upstreams share: a quiet request handler that
answers with a whole body, and serving on a free port of 127.0.0.1 after
printing `listening PORT` (the test reads that line to find it)."""

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    """A handler that logs nothing and answers whole bodies."""

    def answer(self, status, content_type, body, headers=()):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def log_message(self, *args):
        pass


def serve(handler):
    """Serve `handler` on 127.0.0.1 until killed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()
