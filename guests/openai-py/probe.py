"""The sandbox probe: asked for with `provider_options: {"openai-py": {"probe":
true}}`, a turn reports, as its answer text (JSON), what this guest can reach
through Python's own standard library instead of the host's `http` import: the
environment, the file system, sockets and name lookups. The tests use it to
check that a Python guest gets nothing from any of them.

Everything runs at call time, in the sandbox: module-level code would run at
build time, in componentize-py's pre-initialisation, and see nothing of the host.
"""

import json
import os
import sys

# Imported at build time so the module is in the snapshot: at run time the
# guest has no file system to import it from, and the probe must exercise the
# host's socket denial, not a missing module.
try:
    import encodings.idna  # noqa: F401 - host names are IDNA-encoded before a lookup
    import socket
except ImportError as _missing:  # a build of CPython without sockets
    socket = None
    SOCKET_IMPORT_ERROR = f"{type(_missing).__name__}: {_missing}"
else:
    SOCKET_IMPORT_ERROR = None


def _attempt(action):
    """Run `action`; report whether it worked and what it gave or raised."""
    try:
        value = action()
    except BaseException as exc:  # noqa: BLE001 - the point is to see any failure
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "detail": repr(value)[:200]}


def _upstream(url):
    """Host and port of the upstream the turn would have called."""
    rest = url.split("://", 1)[-1].split("/", 1)[0]
    host, _, port = rest.rpartition(":")
    if not host:
        return rest, 443 if url.startswith("https") else 80
    return host.strip("[]"), int(port)


def _read_file(path):
    with open(path, "rb") as handle:
        return len(handle.read())


def _write_file(path):
    with open(path, "w") as handle:
        return handle.write("written by a sandboxed guest")


def _need_socket():
    if socket is None:
        raise ImportError(SOCKET_IMPORT_ERROR)


def _socket_connect(host, port):
    _need_socket()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(2)
        sock.connect((host, port))
        return "connected"
    finally:
        sock.close()


def _socket_create():
    _need_socket()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.close()
    return "created"


def _resolve(name):
    _need_socket()
    return socket.getaddrinfo(name, 80)


def report(url):
    """What the sandbox allowed, as JSON text."""
    host, port = _upstream(url)
    findings = {
        "environ": dict(os.environ),
        "argv": list(sys.argv),
        "cwd": _attempt(os.getcwd),
        "read_etc_passwd": _attempt(lambda: _read_file("/etc/passwd")),
        "list_root": _attempt(lambda: os.listdir("/")),
        "list_cwd": _attempt(lambda: os.listdir(".")),
        "write_tmp": _attempt(lambda: _write_file("/tmp/openai-py-probe.txt")),
        "socket_create": _attempt(_socket_create),
        "socket_connect_upstream": _attempt(lambda: _socket_connect(host, port)),
        "resolve_localhost": _attempt(lambda: _resolve("localhost")),
        "upstream": f"{host}:{port}",
        "socket_module": SOCKET_IMPORT_ERROR or "imported",
    }
    return json.dumps(findings, sort_keys=True)
