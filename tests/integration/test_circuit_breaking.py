"""Circuit breaking (Service trafficPolicy.connectionPool, issue 6, docs/traffic.md): a slow
upstream trips the breaker — requests over the connection and queue limits get 503 overflow at
once while the others succeed; maxRequestsPerConnection rotates connections; idleTimeout closes
pooled connections. One worker, so the per-worker share of each limit is the limit itself."""

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from harness import BINARY, Gatehouse, Upstream, free_port, wait_for


def config(port, upstream, pool):
    return f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec: {{address: 127.0.0.1, port: {port}, protocol: HTTP}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: app}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {upstream.port}}}]
  trafficPolicy:
    connectionPool: {pool}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: all}}
spec:
  parentRefs: [{{name: edge}}]
  rules: [{{backendRefs: [{{name: app}}]}}]
"""


class CircuitBreakingTest(unittest.TestCase):
    def start(self, pool, workers=1, *extra):
        self.upstream = Upstream("u1")
        self.port = free_port()
        self.gh = Gatehouse(workers=workers)
        self.gh.apply(config(self.port, self.upstream, pool))
        self.gh.start(*extra)

    def tearDown(self):
        self.gh.cleanup()
        self.upstream.stop()

    def request(self, path, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            c.request("GET", path, headers={"Host": "x"})
            r = c.getresponse()
            r.read()
            return r.status, r.getheader("x-gatehouse-reason")
        finally:
            if conn is None:
                c.close()

    def test_slow_upstream_trips_the_breaker(self):
        # 2 connections and 1 waiting request: of 6 concurrent slow requests, 3 are served
        # (2 at once, then the waiting one) and 3 are refused at once.
        self.start("{tcp: {maxConnections: 2}, http: {http1MaxPendingRequests: 1}}")
        done = []
        lock = threading.Lock()

        def one():
            result = self.request("/sleep/1500")
            with lock:
                done.append(result)

        threads = [threading.Thread(target=one) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        statuses = [s for s, _ in done]
        self.assertEqual(sorted(statuses), [200, 200, 200, 503, 503, 503], done)
        # The refusals came first: none waited for the slow upstream.
        self.assertEqual(statuses[:3], [503, 503, 503], done)
        self.assertEqual({r for s, r in done if s == 503}, {"overflow"})
        self.assertEqual(self.upstream.count(), 3)
        m = self.gh.metrics()
        self.assertEqual(m['gatehouse_local_replies_total{reason="overflow"}'], 3)
        # The breaker lets go: with the slow requests done, a new one is served.
        self.assertEqual(self.request("/")[0], 200)

    def test_no_queue_refuses_at_the_connection_limit(self):
        log = os.path.join(tempfile.mkdtemp(prefix="gh-cb-log-"), "access.log")
        self.start("{tcp: {maxConnections: 1}, http: {http1MaxPendingRequests: 0}}", 1,
                   "--access-log", log, "--access-log-format", "json")
        done = []

        def slow():
            done.append(self.request("/sleep/1500"))

        t = threading.Thread(target=slow)
        t.start()
        wait_for(lambda: self.gh.metrics().get("gatehouse_upstream_cx_active", 0) >= 1,
                 what="the slow request upstream")
        self.assertEqual(self.request("/"), (503, "overflow"))
        t.join(30)
        self.assertEqual(done, [(200, None)])
        self.assertEqual(self.request("/")[0], 200)
        # The refusal carries Envoy's upstream-overflow flag, in the access log and the
        # Service's error counter.

        def lines():
            try:
                with open(log) as f:
                    return [json.loads(x) for x in f if x.strip()]
            except OSError:
                return []
        logged = wait_for(lambda: len(lines()) >= 3 and lines(), what="3 access-log lines")
        self.assertEqual(sorted((x["status"], x["response_flags"]) for x in logged),
                         [(200, "-"), (200, "-"), (503, "UO")])
        m = self.gh.metrics()
        self.assertEqual(m['gatehouse_service_upstream_errors_total{service="default/app",'
                           'response_flags="UO"}'], 1)
        shutil.rmtree(os.path.dirname(log), ignore_errors=True)

    def test_max_requests_per_connection_rotates_connections(self):
        self.start("{http: {maxRequestsPerConnection: 2}}")
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        for _ in range(6):
            self.assertEqual(self.request("/", conn=c)[0], 200)
        c.close()
        self.assertEqual(self.upstream.count(), 6)
        self.assertEqual(self.upstream.connections, 3)

    def test_idle_timeout_closes_pooled_connections(self):
        self.start("{http: {idleTimeout: 200ms}}")
        self.assertEqual(self.request("/")[0], 200)
        self.assertEqual(self.request("/")[0], 200)
        self.assertEqual(self.upstream.connections, 1)  # the pooled connection was reused
        # After the idle timeout the pool has closed it: the next request needs a new one.
        wait_for(lambda: self.gh.metrics().get("gatehouse_upstream_cx_active", 1) == 0,
                 what="no connection in use")
        time.sleep(0.6)
        self.assertEqual(self.request("/")[0], 200)
        self.assertEqual(self.upstream.connections, 2)


class ConnectionPoolValidationTest(unittest.TestCase):
    def check(self, pool):
        path = os.path.join(os.path.dirname(BINARY), f"cp-{free_port()}.yaml")
        with open(path, "w") as f:
            f.write("apiVersion: gatehouse.dev/v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
                    "  endpoints: [{address: 127.0.0.1, port: 80}]\n"
                    f"  trafficPolicy: {{connectionPool: {pool}}}\n")
        try:
            return subprocess.run([BINARY, "validate", "-f", path], capture_output=True,
                                  text=True, timeout=30)
        finally:
            os.unlink(path)

    def test_limits(self):
        r = self.check("{tcp: {maxConnections: 0}}")
        self.assertEqual(r.returncode, 1)
        self.assertIn("connectionPool.tcp.maxConnections", r.stderr)
        r = self.check("{http: {http2MaxRequests: 10}}")
        self.assertIn("http2MaxRequests: is not supported yet", r.stderr)
        r = self.check("{tcp: {maxConnections: 100, connectTimeout: 1s}, http: "
                       "{http1MaxPendingRequests: 0, maxRequestsPerConnection: 100}}")
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
