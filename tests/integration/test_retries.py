"""Retries (HTTPRoute rules[].retry, issue 6, docs/traffic.md): a request that meets a reset
or a listed status is retried on another endpoint; a POST whose body went out is not; during a
full outage the retry budget (20% of active requests, at least 3) caps the extra attempts the
upstreams see."""

import http.client
import os
import subprocess
import threading
import time
import unittest

from harness import BINARY, Gatehouse, Upstream, free_port


class FailingUpstream(Upstream):
    """An Upstream that fails on command: mode "ok", "reset" (read the request, then close
    without answering), "503", or "slow503" (503 after 200 ms)."""

    def __init__(self, name, mode="ok"):
        self.mode = mode
        super().__init__(name)

    def _respond(self, conn, req):
        if self.mode == "reset":
            return False
        if self.mode in ("503", "slow503"):
            if self.mode == "slow503":
                time.sleep(0.2)
            conn.sendall(b"HTTP/1.1 503 X\r\ncontent-length: 5\r\nx-upstream: "
                         + self.name.encode() + b"\r\n\r\nsorry")
            return True
        return super()._respond(conn, req)


def config(port, upstreams, retry):
    eps = ", ".join(f"{{address: 127.0.0.1, port: {u.port}}}" for u in upstreams)
    return f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec: {{address: 127.0.0.1, port: {port}, protocol: HTTP}}
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
      retry: {retry}
"""


class RetryTest(unittest.TestCase):
    def start(self, modes, retry, workers=2):
        self.upstreams = [FailingUpstream(f"u{i}", m) for i, m in enumerate(modes)]
        self.port = free_port()
        self.gh = Gatehouse(workers=workers)
        self.gh.apply(config(self.port, self.upstreams, retry))
        self.gh.start()

    def tearDown(self):
        self.gh.cleanup()
        for u in self.upstreams:
            u.stop()

    def request(self, method="GET", body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            c.request(method, "/", body=body, headers={"Host": "x"})
            r = c.getresponse()
            r.read()
            return r.status, r.getheader("x-upstream")
        finally:
            c.close()

    def test_retry_succeeds_on_a_second_endpoint_after_a_reset(self):
        self.start(["reset", "ok"], "{attempts: 2, backoff: 5ms}")
        results = [self.request() for _ in range(20)]
        self.assertEqual(set(results), {(200, "u1")}, results)
        reset_seen = self.upstreams[0].count()
        self.assertGreaterEqual(reset_seen, 5)  # round robin sent about half there first
        self.assertEqual(self.upstreams[1].count(), 20)
        m = self.gh.metrics()
        self.assertEqual(m["gatehouse_upstream_rq_retry_total"], reset_seen)
        by_service = {k: v for k, v in m.items()
                      if k.startswith("gatehouse_service_upstream_retries_total{")}
        self.assertEqual(by_service,
                         {'gatehouse_service_upstream_retries_total{service="default/app"}':
                          reset_seen})

    def test_listed_status_is_retried_elsewhere(self):
        self.start(["503", "ok"], "{attempts: 1, backoff: 5ms, codes: [503]}")
        results = [self.request() for _ in range(20)]
        self.assertEqual(set(results), {(200, "u1")}, results)

    def test_unlisted_status_is_not_retried(self):
        self.start(["503", "ok"], "{attempts: 1, backoff: 5ms, codes: [502]}")
        results = [self.request() for _ in range(20)]
        self.assertIn((503, "u0"), results)
        self.assertEqual(self.gh.metrics()["gatehouse_upstream_rq_retry_total"], 0)

    def test_post_with_a_body_sent_is_not_retried(self):
        self.start(["reset", "ok"], "{attempts: 2, backoff: 5ms}")
        results = [self.request("POST", b"hello") for _ in range(20)]
        failed = [r for r in results if r[0] != 200]
        # Every POST that reached the resetting endpoint (its body sent) failed; none was
        # sent again.
        self.assertEqual(len(failed), self.upstreams[0].count())
        self.assertGreaterEqual(len(failed), 5)
        self.assertEqual({s for s, _ in failed}, {502})
        self.assertEqual(self.upstreams[1].count(), 20 - len(failed))
        self.assertEqual(self.gh.metrics()["gatehouse_upstream_rq_retry_total"], 0)

    def test_budget_caps_retries_during_a_full_outage(self):
        # Every endpoint answers 503 after 200 ms; 30 clients at once, 3 retries allowed per
        # request. Without a budget the upstreams would see 4 attempts per request; the budget
        # (20% of the ~30 requests in flight: 6 retries at a time) keeps it near 1.
        self.start(["slow503", "slow503", "slow503"],
                   "{attempts: 3, backoff: 1ms, codes: [503]}", workers=1)
        requests = []
        lock = threading.Lock()

        def client():
            for _ in range(3):
                status = self.request()[0]
                with lock:
                    requests.append(status)

        threads = [threading.Thread(target=client) for _ in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(len(requests), 90)
        self.assertEqual(set(requests), {503})
        attempts = sum(u.count() for u in self.upstreams)
        m = self.gh.metrics()
        retries = m["gatehouse_upstream_rq_retry_total"]
        self.assertEqual(attempts, 90 + retries)
        self.assertGreater(retries, 0)
        self.assertGreater(m["gatehouse_upstream_rq_retry_budget_exhausted_total"], 0)
        self.assertLess(attempts, 90 * 2, f"{attempts} attempts for 90 requests")


class RetryValidationTest(unittest.TestCase):
    def test_refusals(self):
        path = os.path.join(os.path.dirname(BINARY), f"rt-{free_port()}.yaml")
        with open(path, "w") as f:
            f.write(config(8080, [], "{attempts: 11, codes: [200, 503]}").replace(
                "endpoints: []", "endpoints: [{address: 127.0.0.1, port: 80}]"))
        try:
            r = subprocess.run([BINARY, "validate", "-f", path], capture_output=True, text=True,
                               timeout=30)
        finally:
            os.unlink(path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("retry.attempts", r.stderr)
        self.assertIn("retry.codes[0]: must be an HTTP status between 400 and 599", r.stderr)


if __name__ == "__main__":
    unittest.main()
