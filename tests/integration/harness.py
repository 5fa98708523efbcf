"""Integration-test harness: the real gatehouse binary, a recording upstream, raw clients.

Everything runs on loopback with ports picked free at run time. Tests talk to the proxy with
real clients (raw sockets, http.client, curl) and assert what users rely on, including what
the upstream did or did not receive.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("GATEHOUSE_BIN", os.path.join(ROOT, "build", "gatehouse"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# --- the upstream -------------------------------------------------------------------------


class UpstreamRequest:
    def __init__(self, head, method, target, headers, body):
        self.head = head  # raw head bytes as received
        self.method = method
        self.target = target
        self.headers = headers  # list of (name, value), as received
        self.body = body

    def header(self, name):
        vals = [v for n, v in self.headers if n.lower() == name.lower()]
        return vals[0] if vals else None

    def header_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]


class Upstream:
    """A keep-alive HTTP/1.1 server that records every request it receives.

    Behaviour is chosen by the request path:
      /echo...        200, JSON of method, target, headers and body length
      /status/NNN     that status, small body
      /bytes/N        N bytes of 'x' with Content-Length (N may be large; streamed)
      /chunked/N      N bytes in chunks of 1000, chunked encoding
      /close/N        N bytes, no Content-Length, then close
      /sleep/MS       wait MS milliseconds, then 200
      /sink           read the body (streamed, not kept), 200 with its length
      /raw            reply with the bytes in header x-raw-response (escaped \\r\\n), then close
      /ws             101 Switching Protocols, then echo raw bytes back until the peer closes
      /once           200 with Content-Length, then close the connection without saying so
      anything else   200 with body "upstream <name>"
    """

    def __init__(self, name="u1"):
        self.name = name
        self.port = free_port()
        self.requests = []
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(512)
        self.stopping = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping = True
        # shutdown() first: close() alone does not end the accept() the loop thread is blocked
        # in, so the socket would stay listening and answer one more connection as this
        # upstream; a later test whose port it is could then be answered by a stopped one.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def count(self):
        with self.lock:
            return len(self.requests)

    def _accept_loop(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buf = b""
        conn.settimeout(30)
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:]]
                req = UpstreamRequest(head, method, target, headers, b"")
                hmap = {n.lower(): v for n, v in headers}
                streamed = target.startswith("/sink")
                body_len = 0
                body = bytearray()
                if "content-length" in hmap:
                    n = int(hmap["content-length"])
                    while n > 0:
                        if not buf:
                            buf = conn.recv(1 << 20)
                            if not buf:
                                return
                        take = buf[:n]
                        buf = buf[n:]
                        n -= len(take)
                        body_len += len(take)
                        if not streamed:
                            body += take
                elif hmap.get("transfer-encoding", "").lower() == "chunked":
                    def recv_more():
                        data = conn.recv(65536)
                        if not data:
                            raise ConnectionResetError("peer closed mid-body")
                        return data
                    while True:
                        while b"\r\n" not in buf:
                            buf += recv_more()
                        size_line, buf = buf.split(b"\r\n", 1)
                        size = int(size_line.split(b";")[0], 16)
                        if size == 0:
                            while not buf.startswith(b"\r\n") and b"\r\n\r\n" not in buf:
                                buf += recv_more()
                            buf = buf[2:] if buf.startswith(b"\r\n") else buf.split(b"\r\n\r\n", 1)[1]
                            break
                        while len(buf) < size + 2:
                            more = conn.recv(1 << 20)
                            if not more:
                                return
                            buf += more
                        body_len += size
                        if not streamed:
                            body += buf[:size]
                        buf = buf[size + 2:]
                req.body = bytes(body)
                req.body_len = body_len
                with self.lock:
                    self.requests.append(req)
                if not self._respond(conn, req):
                    return
                if hmap.get("connection", "").lower() == "close":
                    return
        except (OSError, ValueError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _respond(self, conn, req):
        path = req.target.split("?")[0]
        parts = path.strip("/").split("/")
        if path.startswith("/echo"):
            body = json.dumps({
                "upstream": self.name,
                "method": req.method,
                "target": req.target,
                "headers": req.headers,
                "body_len": req.body_len,
                "body": req.body.decode("latin-1") if len(req.body) < 4096 else "",
            }).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
        elif parts[0] == "status":
            code = int(parts[1])
            body = f"status {code}\n".encode()
            conn.sendall(f"HTTP/1.1 {code} X\r\ncontent-length: {len(body)}\r\n\r\n".encode()
                         + body)
        elif parts[0] == "bytes":
            n = int(parts[1])
            conn.sendall(f"HTTP/1.1 200 OK\r\ncontent-length: {n}\r\n\r\n".encode())
            if req.method == "HEAD":
                return True
            block = b"x" * (1 << 20)
            while n > 0:
                take = min(n, len(block))
                conn.sendall(block[:take])
                n -= take
        elif parts[0] == "chunked":
            n = int(parts[1])
            conn.sendall(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            while n > 0:
                take = min(n, 1000)
                conn.sendall(b"%x\r\n" % take + b"y" * take + b"\r\n")
                n -= take
            conn.sendall(b"0\r\n\r\n")
        elif parts[0] == "close":
            n = int(parts[1])
            conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n" + b"z" * n)
            return False
        elif parts[0] == "sleep":
            time.sleep(int(parts[1]) / 1000)
            body = f"slept {parts[1]}\n".encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: " + str(len(body)).encode()
                         + b"\r\n\r\n" + body)
        elif parts[0] == "sink":
            body = str(req.body_len).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: " + str(len(body)).encode()
                         + b"\r\n\r\n" + body)
        elif parts[0] == "ws":
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\n\r\n")
            while True:
                data = conn.recv(65536)
                if not data:
                    return False
                conn.sendall(data)
        elif parts[0] == "once":
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nonce")
            return False
        elif parts[0] == "raw":
            raw = (req.header("x-raw-response") or "").replace("\\r", "\r").replace("\\n", "\n")
            conn.sendall(raw.encode("latin-1"))
            return False
        else:
            body = f"upstream {self.name}".encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: " + str(len(body)).encode()
                         + b"\r\nx-upstream: " + self.name.encode() + b"\r\n\r\n" + body)
        return True


# --- the gateway --------------------------------------------------------------------------


class Gatehouse:
    """A `gatehouse run` process on a temporary data dir."""

    def __init__(self, workers=2, data_dir=None):
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="gh-it-")
        self.owns_dir = data_dir is None
        self.admin_port = free_port()
        self.workers = workers
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "run.log")

    def cli(self, *args, stdin=None, check=False):
        r = subprocess.run([BINARY, *args, "--data-dir", self.data_dir], input=stdin,
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"gatehouse {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def apply(self, yaml_text, *extra, check=True):
        path = os.path.join(self.data_dir, f"apply-{time.monotonic_ns()}.yaml")
        with open(path, "w") as f:
            f.write(yaml_text)
        return self.cli("apply", "-f", path, *extra, check=check)

    def start(self, *extra, wait_ready=True):
        # free_port() only promises a port that was free a moment ago: test files run in
        # parallel, and another one may bind the admin port first. Then the node exits at
        # once saying so, and it is started again on another port (proxy ports come from the
        # test's configuration and are not moved).
        for attempt in range(3):
            self.log = open(self.log_path, "ab")
            start = self.log.tell()
            self.proc = subprocess.Popen(
                [BINARY, "run", "--data-dir", self.data_dir, "--workers", str(self.workers),
                 "--admin", f"127.0.0.1:{self.admin_port}", "--log-level", "debug", *extra],
                stdout=self.log, stderr=subprocess.STDOUT)
            if not wait_ready:
                return self
            wait_for(lambda: self.ready() or self.proc.poll() is not None, 10, what="/ready")
            if self.proc.poll() is None:
                return self
            taken = f"admin listener: bind 127.0.0.1:{self.admin_port}: Address already in use"
            if attempt < 2 and taken in self.logs()[start:]:
                self.log.close()
                self.admin_port = free_port()
                continue
            raise AssertionError(f"gatehouse exited {self.proc.returncode}: {self.logs()}")
        return self

    def ready(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/ready", timeout=1) as r:
                return r.status == 200
        except Exception:
            return False

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=5) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def config_version(self):
        return int(self.metrics().get("gatehouse_config_version", 0))

    def wait_version(self, version, timeout=5):
        wait_for(lambda: self.config_version() >= version, timeout, what=f"version {version}")

    def logs(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def rss_peak_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        if self.proc:
            self.log.close()
        return rc

    def cleanup(self):
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def simple_config(listen_port, upstream_ports, extra="", listener_http=""):
    """One HTTP listener, one Service with the given endpoints, one catch-all route."""
    eps = ", ".join(f"{{address: 127.0.0.1, port: {p}}}" for p in upstream_ports)
    http = f"\n  http: {listener_http}" if listener_http else ""
    return f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec:
  address: 127.0.0.1
  port: {listen_port}
  protocol: HTTP{http}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: app}}
spec:
  endpoints: [{eps}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: all}}
spec:
  parentRefs: [{{name: edge}}]
  rules:
    - backendRefs: [{{name: app}}]
{extra}"""


# --- raw HTTP client ----------------------------------------------------------------------


def raw_exchange(port, data, timeout=5.0, shutdown_write=False):
    """Sends raw bytes, returns everything received until the server closes (or timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if shutdown_write:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not d:
                break
            chunks.append(d)
        return b"".join(chunks)
    finally:
        s.close()


def parse_responses(data):
    """Splits a byte stream into (status, headers dict lower-case, body) responses.

    Understands Content-Length and chunked; a response without either takes the rest."""
    out = []
    while data:
        if b"\r\n\r\n" not in data:
            raise AssertionError(f"incomplete response head: {data[:200]!r}")
        head, data = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            n, v = line.split(":", 1)
            headers.setdefault(n.strip().lower(), v.strip())
        if status < 200 or status in (204, 304):
            body = b""
        elif "content-length" in headers:
            n = int(headers["content-length"])
            body, data = data[:n], data[n:]
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size_line, data = data.split(b"\r\n", 1)
                size = int(size_line, 16)
                if size == 0:
                    data = data[2:]
                    break
                body += data[:size]
                data = data[size + 2:]
        else:
            body, data = data, b""
        out.append((status, headers, body))
    return out


class GatehouseTest(unittest.TestCase):
    """Base class: one upstream and one gatehouse per test class, configurable."""

    WORKERS = 2

    @classmethod
    def setUpClass(cls):
        cls.upstream = Upstream("u1")
        cls.port = free_port()
        cls.gh = Gatehouse(workers=cls.WORKERS)
        cls.gh.apply(cls.config())
        cls.gh.start()

    @classmethod
    def config(cls):
        return simple_config(cls.port, [cls.upstream.port])

    @classmethod
    def tearDownClass(cls):
        cls.gh.cleanup()
        cls.upstream.stop()
