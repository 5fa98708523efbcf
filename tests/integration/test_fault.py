"""Fault injection on HTTPRoute rules (issue 6, docs/traffic.md "Fault injection"): aborts and
delays by percentage, decided independently per request; the percentages hold within 5% over
10 000 requests; a delay is applied on a timer and never blocks the worker (another request
on the same single worker is answered meanwhile)."""

import http.client
import json
import os
import threading
import time
import unittest

from harness import Gatehouse, Upstream, free_port, wait_for


def config(port, upstream_port):
    return f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec: {{address: 127.0.0.1, port: {port}, protocol: HTTP}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: app}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {upstream_port}}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: drills}}
spec:
  parentRefs: [{{name: edge}}]
  rules:
    - matches: [{{path: {{type: PathPrefix, value: /mixed}}}}]
      fault:
        delay: {{percentage: {{value: 50}}, fixedDelay: 1ms}}
        abort: {{percentage: {{value: 25}}, httpStatus: 503}}
      backendRefs: [{{name: app}}]
    - matches: [{{path: {{type: PathPrefix, value: /slow}}}}]
      fault: {{delay: {{percentage: {{value: 100}}, fixedDelay: 1s}}}}
      backendRefs: [{{name: app}}]
    - matches: [{{path: {{type: PathPrefix, value: /teapot}}}}]
      fault:
        delay: {{percentage: {{value: 100}}, fixedDelay: 100ms}}
        abort: {{percentage: {{value: 100}}, httpStatus: 418}}
      backendRefs: [{{name: app}}]
    - backendRefs: [{{name: app}}]
"""


class FaultTest(unittest.TestCase):
    WORKERS = 1  # one worker: a blocked worker would show as a slow unrelated request

    @classmethod
    def setUpClass(cls):
        cls.upstream = Upstream("u1")
        cls.port = free_port()
        cls.gh = Gatehouse(workers=cls.WORKERS)
        cls.gh.apply(config(cls.port, cls.upstream.port))
        cls.access_log = os.path.join(cls.gh.data_dir, "access.log")
        cls.gh.start("--access-log", cls.access_log, "--access-log-format", "json")

    @classmethod
    def tearDownClass(cls):
        cls.gh.cleanup()
        cls.upstream.stop()

    def get(self, path, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        if conn is None:
            c.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body

    def test_percentages_hold_over_10000_requests(self):
        m0 = self.gh.metrics()
        delays0 = m0.get("gatehouse_fault_delays_total", 0)
        aborts0 = m0.get("gatehouse_fault_aborts_total", 0)
        upstream0 = self.upstream.count()
        counts = {"abort": 0, "ok": 0, "other": []}
        lock = threading.Lock()

        def client(n):
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            for _ in range(n):
                status, headers, _ = self.get("/mixed", conn=c)
                with lock:
                    if status == 503 and headers.get("x-gatehouse-reason") == "fault_abort":
                        counts["abort"] += 1
                    elif status == 200:
                        counts["ok"] += 1
                    else:
                        counts["other"].append(status)
            c.close()

        threads = [threading.Thread(target=client, args=(2500,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(counts["other"], [])
        self.assertEqual(counts["abort"] + counts["ok"], 10_000)
        # 25% aborted and 50% delayed, each within 5% of its expected count.
        self.assertLess(abs(counts["abort"] - 2500), 125, counts)
        delays = self.gh.metrics()["gatehouse_fault_delays_total"] - delays0
        self.assertLess(abs(delays - 5000), 250, delays)
        # Aborted requests never reach the upstream.
        self.assertEqual(self.upstream.count() - upstream0, counts["ok"])
        self.assertEqual(self.gh.metrics()["gatehouse_fault_aborts_total"] - aborts0,
                         counts["abort"])

    def test_delay_is_applied_without_blocking_the_worker(self):
        results = {}

        def slow():
            t0 = time.monotonic()
            status = self.get("/slow")[0]
            results["slow"] = status, time.monotonic() - t0, time.monotonic()

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.1)
        status, _, _ = self.get("/plain")  # same single worker, while /slow waits
        plain_done = time.monotonic()
        t.join()
        self.assertEqual(status, 200)
        self.assertEqual(results["slow"][0], 200)
        self.assertGreaterEqual(results["slow"][1], 0.99)
        # Answered while the delayed request still waited: the worker was not blocked.
        self.assertLess(plain_done, results["slow"][2], "the delay must not block the worker")

    def test_delay_then_abort_with_the_configured_status(self):
        t0 = time.monotonic()
        status, headers, body = self.get("/teapot")
        self.assertGreaterEqual(time.monotonic() - t0, 0.095)
        self.assertEqual(status, 418)
        self.assertEqual(headers["x-gatehouse-reason"], "fault_abort")
        self.assertEqual(body, b"fault filter abort\n")

    def test_access_log_flags_injected_faults(self):
        # Envoy's response flags: FI for an injected abort (also when it was delayed first),
        # DI for a delay alone, "-" for an untouched request.
        self.assertEqual(self.get("/teapot/flag")[0], 418)
        self.assertEqual(self.get("/slow/flag")[0], 200)
        self.assertEqual(self.get("/plain/flag")[0], 200)

        def flags():
            try:
                with open(self.access_log) as f:
                    lines = [json.loads(x) for x in f if x.strip()]
            except OSError:
                return None
            found = {x["path"]: x["response_flags"] for x in lines
                     if x.get("path", "").endswith("/flag")}
            return found if len(found) == 3 else None
        self.assertEqual(wait_for(flags, what="the three access-log lines"),
                         {"/teapot/flag": "FI", "/slow/flag": "DI", "/plain/flag": "-"})

    def test_client_leaving_during_a_delay(self):
        import socket
        s = socket.create_connection(("127.0.0.1", self.port))
        s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        s.close()  # gone before the delay ends: nothing must break
        time.sleep(0.5)
        self.assertEqual(self.get("/plain")[0], 200)


if __name__ == "__main__":
    unittest.main()
