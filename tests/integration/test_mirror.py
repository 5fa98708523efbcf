"""RequestMirror (issue 6, docs/traffic.md "Mirroring"): a fire-and-forget copy of each request
(a percentage of them) to a shadow Service, Host suffixed "-shadow" as Envoy does, the body
along when it is small and already here. The real request's status and latency do not depend
on the shadow: down (connection refused), slow (answers after 2 s), silent (never answers) or
up. Copies in flight are bounded per worker, counted on their own (never as route traffic),
survive a reload, and go over mutual TLS to a mesh shadow."""

import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import unittest

import svid
from harness import BINARY, Gatehouse, Upstream, free_port, wait_for

SHADOW_DELAY = 2.0  # the slow shadow's answer time, seconds


class SlowShadow:
    """Reads each request (head and Content-Length body), records it, and answers 200 only
    after `delay` seconds (None: never; the connection is held until stop())."""

    def __init__(self, delay):
        self.delay = delay
        self.port = free_port()
        self.requests = []  # (host, target, arrival time)
        self.answered = 0
        self.answer_times = []
        self.lock = threading.Lock()
        self.conns = []
        self.stopping = False
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(1024)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            c.settimeout(30)
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            head = buf.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip()
                       for k, v in (line.split(":", 1) for line in head[1:])}
            with self.lock:
                self.requests.append((headers.get("host"), head[0].split(" ")[1],
                                      time.monotonic()))
            if self.delay is None:
                while not self.stopping and c.recv(65536):
                    pass
                return
            time.sleep(self.delay)
            c.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            with self.lock:
                self.answered += 1
                self.answer_times.append(time.monotonic())
        except OSError:
            return
        finally:
            c.close()

    def count(self, host=None):
        with self.lock:
            return len([r for r in self.requests if host is None or r[0] == host])

    def release(self):
        """Closes the connections held so far (their copies end as failed)."""
        with self.lock:
            conns, self.conns = self.conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def service(name, port):
    return f"""---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: {name}}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {port}}}]}}
"""


def route(name, mirror, backend="app"):
    return f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}}}
spec:
  parentRefs: [{{name: edge}}]
  hostnames: [{name}.test]
  rules:
    - filters:
        - type: RequestMirror
          requestMirror: {mirror}
      backendRefs: [{{name: {backend}}}]
"""


def modified_host_route(name, modifier):
    """Mirrors to `shadow` with a RequestHeaderModifier that touches Host."""
    return f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}}}
spec:
  parentRefs: [{{name: edge}}]
  hostnames: [{name}.test]
  rules:
    - filters:
        - type: RequestMirror
          requestMirror: {{backendRef: {{name: shadow}}}}
        - type: RequestHeaderModifier
          requestHeaderModifier: {modifier}
      backendRefs: [{{name: app}}]
"""


def config(port, app, shadow, slow, silent, down, shadow2, reloaded=False):
    out = (f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec: {{address: 127.0.0.1, port: {port}, protocol: HTTP}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: plain}}
spec:
  parentRefs: [{{name: edge}}]
  hostnames: [plain.test]
  rules: [{{backendRefs: [{{name: app}}]}}]
""" + service("app", app) + service("shadow", shadow) + service("silent", silent)
           + service("down", down)
           + route("up", "{backendRef: {name: shadow}}")
           + route("half", "{backendRef: {name: shadow}, percent: 50}")
           + route("tenth", "{backendRef: {name: shadow}, fraction: {numerator: 1, denominator: 10}}")
           + route("silent", "{backendRef: {name: silent}}")
           + route("down", "{backendRef: {name: down}}")
           + modified_host_route("sethost", "{set: [{name: Host, value: rewritten.test}]}")
           + modified_host_route("rmhost", "{remove: [host]}")
           # Two endpoints chosen by the X-User header: a copy goes where the key says.
           + f"""---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: hashed}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {shadow}}}, {{address: 127.0.0.1, port: {shadow2}}}]
  trafficPolicy: {{loadBalancer: {{consistentHash: {{httpHeaderName: X-User}}}}}}
""" + route("sticky", "{backendRef: {name: hashed}}"))
    if not reloaded:
        # The reload test takes the slow shadow (and the route mirroring to it) away while
        # copies to it are in flight.
        out += service("slow", slow) + route("slow", "{backendRef: {name: slow}}")
    return out


class MirrorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = Upstream("app")
        cls.shadow = Upstream("shadow")
        cls.shadow2 = Upstream("shadow2")
        cls.slow = SlowShadow(SHADOW_DELAY)
        cls.silent = SlowShadow(None)
        cls.down_port = free_port()  # nothing listens: connection refused
        cls.port = free_port()
        cls.gh = Gatehouse(workers=2)
        cls.gh.apply(cls.config())
        cls.gh.start()

    @classmethod
    def config(cls, reloaded=False):
        return config(cls.port, cls.app.port, cls.shadow.port, cls.slow.port, cls.silent.port,
                      cls.down_port, cls.shadow2.port, reloaded)

    @classmethod
    def tearDownClass(cls):
        cls.gh.cleanup()
        cls.app.stop()
        cls.shadow.stop()
        cls.shadow2.stop()
        cls.slow.stop()
        cls.silent.stop()

    def request(self, host, method="GET", path="/echo", body=None, conn=None, headers=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        t0 = time.monotonic()
        c.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        r = c.getresponse()
        data = r.read()
        elapsed = time.monotonic() - t0
        if conn is None:
            c.close()
        return r.status, data, elapsed

    def shadow_requests(self, host):
        with self.shadow.lock:
            return [r for r in self.shadow.requests if r.header("host") == host]

    def metric(self, name):
        return self.gh.metrics().get(name, 0)

    def test_copies_reach_the_shadow_with_host_suffix_headers_and_body(self):
        status, data, _ = self.request("up.test:8080", "POST", "/echo/x?q=1", body=b"hello",
                                       headers={"X-Request-Id": "abc-1", "X-Custom": "yes"})
        self.assertEqual(status, 200)
        real = json.loads(data)
        self.assertEqual(real["upstream"], "app")
        self.assertEqual(dict((k.lower(), v) for k, v in real["headers"])["host"], "up.test:8080")
        copy = wait_for(lambda: self.shadow_requests("up.test-shadow:8080"), what="the copy")[0]
        self.assertEqual((copy.method, copy.target, copy.body), ("POST", "/echo/x?q=1", b"hello"))
        self.assertEqual(copy.header("x-request-id"), "abc-1")
        self.assertEqual(copy.header("x-custom"), "yes")
        self.assertEqual(copy.header("content-length"), "5")
        self.assertEqual(copy.header("x-forwarded-for"), "127.0.0.1")

    def test_shadow_host_follows_a_host_modifier(self):
        # Envoy applies the route's header changes, then appends -shadow to the final Host: a
        # modifier setting Host does not take the suffix away, one removing it leaves the copy
        # the host it was routed with (suffixed).
        self.assertEqual(self.request("sethost.test", path="/echo/sethost")[0], 200)
        self.assertEqual(self.request("rmhost.test", path="/echo/rmhost")[0], 200)
        def copy(path):
            with self.shadow.lock:
                return [r for r in self.shadow.requests if r.target == path]
        got = wait_for(lambda: copy("/echo/sethost"), what="the copy with Host set")[0]
        self.assertEqual(got.header_all("host"), ["rewritten.test-shadow"])
        got = wait_for(lambda: copy("/echo/rmhost"), what="the copy with Host removed")[0]
        self.assertEqual(got.header_all("host"), ["rmhost.test-shadow"])

    def test_copies_follow_the_hash_key(self):
        # A hash-based shadow gets each copy at the endpoint the request's key picks (sticky,
        # like the real request), not at a random one.
        for i in range(20):
            self.assertEqual(self.request("sticky.test", path=f"/echo/sticky{i}",
                                          headers={"X-User": "alice"})[0], 200)
        def copies(u):
            with u.lock:
                return [r for r in u.requests if r.target.startswith("/echo/sticky")]
        wait_for(lambda: len(copies(self.shadow)) + len(copies(self.shadow2)) >= 20,
                 what="the sticky copies")
        self.assertIn(sorted([len(copies(self.shadow)), len(copies(self.shadow2))]), [[0, 20]])

    def test_generated_request_id_is_shared(self):
        status, data, _ = self.request("up.test", path="/echo/id")
        self.assertEqual(status, 200)
        real = dict((k.lower(), v) for k, v in json.loads(data)["headers"])["x-request-id"]
        copy = wait_for(lambda: [r for r in self.shadow_requests("up.test-shadow")
                                 if r.target == "/echo/id"], what="the copy")[0]
        self.assertEqual(copy.header("x-request-id"), real)

    def test_percent_and_fraction(self):
        # The share is decided per request: copies sent plus copies dropped (the worker's
        # bound, when the shadow falls behind) is the number the sampling picked.
        n = 2000

        def sampled(host):
            before = (self.metric("gatehouse_mirror_requests_total")
                      + self.metric("gatehouse_mirror_dropped_total"))
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            for i in range(n):
                self.assertEqual(self.request(host, path=f"/p/{i}", conn=c)[0], 200)
            c.close()
            return (self.metric("gatehouse_mirror_requests_total")
                    + self.metric("gatehouse_mirror_dropped_total") - before)

        connections = self.shadow.connections
        half = sampled("half.test")
        tenth = sampled("tenth.test")
        # Binomial: 50% of 2000 has sd 22.4, 10% of 2000 sd 13.4; allow about 4.5 sd.
        self.assertLess(abs(half - n * 0.5), 100, half)
        self.assertLess(abs(tenth - n * 0.1), 60, tenth)
        wait_for(lambda: self.shadow_requests("half.test-shadow")
                 and self.shadow_requests("tenth.test-shadow"), what="copies at the shadow")
        # Copies go out on kept-alive connections: a handful for 1 200 copies, not one each.
        self.assertLess(self.shadow.connections - connections, (half + tenth) / 10)

    def run_requests(self, host, count=20, path="/sleep/20"):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        out = [self.request(host, path=path, conn=c) for _ in range(count)]
        c.close()
        return out

    def assert_unchanged(self, host, results, base):
        self.assertEqual([s for s, _, _ in results], [200] * len(results), host)
        self.assertEqual({d for _, d, _ in results}, {b"slept 20\n"}, host)
        # Each real request finishes well before the slow shadow answers its copy, and the
        # median stays near the no-mirror baseline (a generous factor: the machine is shared).
        self.assertLess(max(e for _, _, e in results), SHADOW_DELAY / 2, host)
        base_median = statistics.median(e for _, _, e in base)
        self.assertLess(statistics.median(e for _, _, e in results), 3 * base_median + 0.05, host)

    def test_shadow_down_leaves_the_real_request_unchanged(self):
        failed = self.metric("gatehouse_mirror_failed_total")
        base = self.run_requests("plain.test")
        self.assert_unchanged("down.test", self.run_requests("down.test"), base)
        # Every copy was refused and counted as failed.
        wait_for(lambda: self.metric("gatehouse_mirror_failed_total") >= failed + 20,
                 what="the refused copies counted")

    def test_slow_shadow_leaves_the_real_request_unchanged(self):
        before = self.slow.count("slow.test-shadow")
        base = self.run_requests("plain.test")
        results = self.run_requests("slow.test", count=10)
        self.assert_unchanged("slow.test", results, base)
        # The copies did go out, and the shadow answers them long after the real requests.
        wait_for(lambda: self.slow.count("slow.test-shadow") >= before + 10,
                 what="the copies at the slow shadow")

    def test_slow_shadow_never_holds_the_client_connection(self):
        # Connection: close: the client sees the end of its connection right after the real
        # response, not when the shadow answers.
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            t0 = time.monotonic()
            s.sendall(b"GET /sleep/20 HTTP/1.1\r\nHost: slow.test\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
            elapsed = time.monotonic() - t0
            s.close()
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data)
            self.assertLess(elapsed, SHADOW_DELAY / 2)

    def test_silent_shadow_copies_are_bounded_and_counted(self):
        # The silent shadow holds every copy: beyond 64 in flight per worker they are dropped
        # and counted; the real requests are not affected.
        dropped = self.metric("gatehouse_mirror_dropped_total")
        sent = self.metric("gatehouse_mirror_requests_total")
        failed = self.metric("gatehouse_mirror_failed_total")
        results = self.run_requests("silent.test", count=300, path="/")
        self.assertEqual([s for s, _, _ in results], [200] * 300)
        new_sent = self.metric("gatehouse_mirror_requests_total") - sent
        new_dropped = self.metric("gatehouse_mirror_dropped_total") - dropped
        self.assertEqual(new_sent + new_dropped, 300)
        self.assertLessEqual(new_sent, 2 * 64)  # 2 workers
        self.assertGreaterEqual(new_dropped, 300 - 2 * 64)
        self.assertLessEqual(self.silent.count(), 2 * 64)
        # The shadow lets go: the held copies end (as failed) and free the worker's slots for
        # the other tests.
        wait_for(lambda: self.silent.count() >= new_sent, what="the held copies accepted")
        self.silent.release()
        wait_for(lambda: self.metric("gatehouse_mirror_failed_total") >= failed + new_sent,
                 what="the held copies ended")

    def test_bodies_arriving_later_or_chunked_are_mirrored_when_complete(self):
        # The head first, the body 0.3 s later: the real request streams on; the copy waits
        # for the body, collecting it as it goes upstream, and leaves when it is complete.
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        s.sendall(b"POST /echo/late HTTP/1.1\r\nHost: up.test\r\nContent-Length: 10\r\n"
                  b"Connection: close\r\n\r\n")
        time.sleep(0.3)
        s.sendall(b"0123456789")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data)
        copy = wait_for(lambda: [r for r in self.shadow_requests("up.test-shadow")
                                 if r.target == "/echo/late"], what="the late-body copy")[0]
        self.assertEqual((copy.method, copy.body), ("POST", b"0123456789"))

        def chunks():
            yield b"abc"
            yield b"def"
        status, data, _ = self.request("up.test", "POST", "/sink/chunked", body=chunks())
        self.assertEqual((status, data), (200, b"6"))
        copy = wait_for(lambda: [r for r in self.shadow_requests("up.test-shadow")
                                 if r.target == "/sink/chunked"], what="the chunked copy")[0]
        self.assertEqual(copy.header("transfer-encoding"), "chunked")
        self.assertEqual(copy.body_len, 6)

    def test_bodies_over_64_kib_are_not_mirrored(self):
        dropped = self.metric("gatehouse_mirror_dropped_total")
        status, data, _ = self.request("up.test", "POST", "/sink/big", body=b"x" * (100 * 1024))
        self.assertEqual((status, data), (200, b"102400"))

        def chunks():
            for _ in range(100):
                yield b"y" * 1024
        status, data, _ = self.request("up.test", "POST", "/sink/bigchunked", body=chunks())
        self.assertEqual((status, data), (200, b"102400"))
        self.assertEqual(self.metric("gatehouse_mirror_dropped_total"), dropped + 2)
        time.sleep(0.3)
        self.assertEqual([r for r in self.shadow_requests("up.test-shadow")
                          if r.target.startswith("/sink/big")], [])

    def test_copies_are_not_route_traffic(self):
        # The shadow is nobody's backend: mirroring to it adds no request to any route's or
        # Service's metrics; the copies have their own counter.
        sent = self.metric("gatehouse_mirror_requests_total")
        for i in range(5):
            self.assertEqual(self.request("up.test", path=f"/m/{i}")[0], 200)
        wait_for(lambda: self.metric("gatehouse_mirror_requests_total") >= sent + 5,
                 what="the copies counted")
        m = self.gh.metrics()
        for name in m:
            if name.startswith(("gatehouse_service_requests_total",
                                "gatehouse_service_upstream_errors_total")):
                self.assertNotIn('"default/shadow"', name)
        routes = sum(v for k, v in m.items()
                     if k.startswith("gatehouse_requests_total") and 'route="default/up' in k)
        self.assertGreaterEqual(routes, 5)

    def test_copies_in_flight_survive_a_reload(self):
        # Copies waiting on the slow shadow when a new version removes the shadow Service and
        # its route: they finish as they started (answered, not failed), and the node serves on.
        failed = self.metric("gatehouse_mirror_failed_total")
        answered = self.slow.answered
        before = self.slow.count("slow.test-shadow")
        for _ in range(6):
            self.assertEqual(self.request("slow.test", path="/")[0], 200)
        wait_for(lambda: self.slow.count("slow.test-shadow") >= before + 6, what="the copies")
        version = self.gh.config_version()
        try:
            self.gh.apply(self.config(reloaded=True), "--prune")
            self.gh.wait_version(version + 1)
            reloaded = time.monotonic()
            self.assertEqual(self.request("slow.test", path="/")[0], 404)
            self.assertEqual(self.request("up.test", path="/")[0], 200)
            wait_for(lambda: self.slow.answered >= answered + 6, timeout=15,
                     what="the shadow's answers")
            # At least one copy was still waiting when the new version took over (the shadow
            # takes 2 s; the reload a fraction of that).
            with self.slow.lock:
                self.assertGreater(max(self.slow.answer_times), reloaded)
            time.sleep(0.2)
            self.assertEqual(self.metric("gatehouse_mirror_failed_total"), failed)
        finally:
            version = self.gh.config_version()
            self.gh.apply(self.config())
            self.gh.wait_version(version + 1)


def mesh_config(trust="cluster.local"):
    return f"""apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {{name: default}}
spec: {{trustDomain: {trust}, mtls: STRICT}}
"""


class MeshShadowTest(unittest.TestCase):
    """A mesh shadow: copies go over mutual TLS with this node's identity, like any call to a
    mesh Service. `front` mirrors edge traffic to Service shadow, the MESH_INBOUND port of
    `back`, which forwards to the shadow app and names the caller in x-forwarded-client-cert.
    A shadow presenting another identity than the Service's gets no copy (counted failed)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gh-mirror-mesh-")
        ca_dir = os.path.join(cls.tmp, "ca-node")
        subprocess.run([BINARY, "ca", "init", "--data-dir", ca_dir], check=True,
                       capture_output=True)
        ca = svid.Ca.load(os.path.join(ca_dir, "ca"))
        cls.app = Upstream("app")
        cls.shadow_app = Upstream("shadow-app")
        cls.plain_shadow = Upstream("plain-shadow")
        cls.inbound_port, cls.edge_port = free_port(), free_port()
        cls.outbound_port = free_port()

        cls.back = Gatehouse(workers=1)
        svid.write_identity(cls.back.data_dir, ca, svid.spiffe("orders-shadow"))
        cls.back.apply(mesh_config() + f"""---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {{name: orders-shadow}}
spec: {{serviceAccount: orders-shadow, address: 127.0.0.1, port: {cls.shadow_app.port}}}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: inbound}}
spec: {{address: 127.0.0.1, port: {cls.inbound_port}, protocol: MESH_INBOUND}}
""")
        cls.back.start()

        cls.front = Gatehouse(workers=2)
        svid.write_identity(cls.front.data_dir, ca, svid.spiffe("frontend"))
        cls.front.apply(mesh_config() + f"""---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec: {{address: 127.0.0.1, port: {cls.edge_port}, protocol: HTTP}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: shadow}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {cls.inbound_port}}}]
  mesh: true
  identity: {svid.spiffe("orders-shadow")}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: imposter}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {cls.inbound_port}}}]
  mesh: true
  identity: {svid.spiffe("payments")}
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {{name: frontend, labels: {{app: frontend}}}}
spec: {{serviceAccount: frontend, port: 8080}}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: outbound}}
spec: {{address: 127.0.0.1, port: {cls.outbound_port}, protocol: MESH_OUTBOUND}}
---
apiVersion: gatehouse.dev/v1
kind: EgressPolicy
metadata: {{name: frontend}}
spec:
  selector: {{matchLabels: {{app: frontend}}}}
  egress: [{{host: "*.partner.test"}}, {{service: listed-shadow}}]
""" + service("app", cls.app.port)
            + service("listed-shadow", cls.plain_shadow.port)
            + service("unlisted-shadow", cls.plain_shadow.port)
            + route("mesh", "{backendRef: {name: shadow}}")
            + route("imposter", "{backendRef: {name: imposter}}")
            + route("ok.partner", "{backendRef: {name: listed-shadow}}").replace(
                "name: edge", "name: outbound")
            + route("denied.partner", "{backendRef: {name: unlisted-shadow}}").replace(
                "name: edge", "name: outbound"))
        cls.front.start()

    @classmethod
    def tearDownClass(cls):
        cls.front.cleanup()
        cls.back.cleanup()
        cls.app.stop()
        cls.shadow_app.stop()
        cls.plain_shadow.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, host, path, port=None):
        c = http.client.HTTPConnection("127.0.0.1", port or self.edge_port, timeout=10)
        try:
            c.request("GET", path, headers={"Host": host})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def test_copies_to_a_mesh_shadow_use_mutual_tls(self):
        status, data = self.get("mesh.test", "/echo/mesh")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data)["upstream"], "app")

        def copies():
            with self.shadow_app.lock:
                return [r for r in self.shadow_app.requests if r.target == "/echo/mesh"]
        copy = wait_for(copies, what="the copy through the mesh")[0]
        self.assertEqual(copy.header("host"), "mesh.test-shadow")
        self.assertIn("URI=" + svid.spiffe("frontend"), copy.header("x-forwarded-client-cert"))
        # Copies count only in gatehouse_mirror_*: their handshakes are not upstream TLS
        # handshakes of the real traffic (which here goes to a plain Service only).
        m = self.front.metrics()
        self.assertEqual(m.get("gatehouse_upstream_tls_handshakes_total", 0), 0)
        self.assertEqual(m.get("gatehouse_upstream_tls_handshake_errors_total", 0), 0)

    def test_copies_only_to_a_shadow_the_egress_policy_lists(self):
        # The app may call *.partner.test; the route copies one host's requests to a shadow
        # Service the EgressPolicy lists, the other's to one it does not: that copy is dropped
        # (counted), never sent. The real requests are allowed either way.
        dropped = self.front.metrics().get("gatehouse_mirror_dropped_total", 0)
        status, _ = self.get("denied.partner.test", "/echo/egress-denied", self.outbound_port)
        self.assertEqual(status, 200)
        status, _ = self.get("ok.partner.test", "/echo/egress-ok", self.outbound_port)
        self.assertEqual(status, 200)

        def copies(path):
            with self.plain_shadow.lock:
                return [r for r in self.plain_shadow.requests if r.target == path]
        copy = wait_for(lambda: copies("/echo/egress-ok"), what="the allowed copy")[0]
        self.assertEqual(copy.header("host"), "ok.partner.test-shadow")
        wait_for(lambda: self.front.metrics().get("gatehouse_mirror_dropped_total", 0)
                 >= dropped + 1, what="the denied copy counted as dropped")
        self.assertEqual(copies("/echo/egress-denied"), [])

    def test_a_shadow_with_the_wrong_identity_gets_nothing(self):
        failed = self.front.metrics().get("gatehouse_mirror_failed_total", 0)
        status, _ = self.get("imposter.test", "/echo/imposter")
        self.assertEqual(status, 200)
        wait_for(lambda: self.front.metrics().get("gatehouse_mirror_failed_total", 0) > failed,
                 what="the refused copy counted")
        with self.shadow_app.lock:
            self.assertEqual([r for r in self.shadow_app.requests
                              if r.target == "/echo/imposter"], [])


class MeshShadowWithoutIdentityTest(unittest.TestCase):
    """A copy never goes in plaintext to a mesh Service. The case the copy path guards against
    (mesh shadow, no client credentials) cannot be configured: a mesh Service, even one used
    only as a shadow, needs this node's workload identity, as for real requests."""

    def test_a_mesh_shadow_needs_the_node_identity(self):
        gh = Gatehouse(workers=1)
        try:
            gh.apply(f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec: {{address: 127.0.0.1, port: {free_port()}, protocol: HTTP}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: shadow}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {free_port()}}}], mesh: true}}
""" + service("app", free_port()) + route("only-shadow", "{backendRef: {name: shadow}}"))
            with self.assertRaises(AssertionError) as e:
                gh.start()
            self.assertIn("no workload identity", str(e.exception))
        finally:
            gh.cleanup()
