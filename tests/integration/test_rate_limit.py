"""RateLimit (issue 6, docs/traffic.md "Rate limits"): local token buckets for an HTTPRoute or
a Listener, one bucket for the target or one per key (client IP, principal, header). Over the
limit: 429 with Retry-After and x-gatehouse-reason rate_limited, counted by limit. The limit
holds for the node as a whole (several workers, several client threads) within 5% over a
measured window."""

import http.client
import threading
import time
import unittest

from harness import Gatehouse, Upstream, free_port


def config(port, port2, upstream_port):
    return f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec: {{address: 127.0.0.1, port: {port}, protocol: HTTP}}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge2}}
spec: {{address: 127.0.0.1, port: {port2}, protocol: HTTP}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: app}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {upstream_port}}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: steady}}
spec:
  parentRefs: [{{name: edge}}]
  hostnames: [steady.test]
  rules: [{{backendRefs: [{{name: app}}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: keyed}}
spec:
  parentRefs: [{{name: edge}}]
  hostnames: [keyed.test]
  rules: [{{backendRefs: [{{name: app}}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: free}}
spec:
  parentRefs: [{{name: edge}}, {{name: edge2}}]
  rules: [{{backendRefs: [{{name: app}}]}}]
---
apiVersion: gatehouse.dev/v1
kind: RateLimit
metadata: {{name: steady}}
spec:
  targetRefs: [{{kind: HTTPRoute, name: steady}}]
  limit: {{requests: 50, per: 1s, burst: 5}}
---
apiVersion: gatehouse.dev/v1
kind: RateLimit
metadata: {{name: per-key}}
spec:
  targetRefs: [{{kind: HTTPRoute, name: keyed}}]
  limit: {{requests: 2, per: 1m}}
  key: {{type: Header, name: x-api-key}}
---
apiVersion: gatehouse.dev/v1
kind: RateLimit
metadata: {{name: per-ip}}
spec:
  targetRefs: [{{kind: Listener, name: edge2}}]
  limit: {{requests: 3, per: 1h}}
  key: {{type: ClientIP}}
"""


class RateLimitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.upstream = Upstream("u1")
        cls.port, cls.port2 = free_port(), free_port()
        cls.gh = Gatehouse(workers=2)
        cls.gh.apply(config(cls.port, cls.port2, cls.upstream.port))
        cls.gh.start()

    @classmethod
    def tearDownClass(cls):
        cls.gh.cleanup()
        cls.upstream.stop()

    def get(self, host, headers=None, port=None, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=10)
        c.request("GET", "/", headers={"Host": host, **(headers or {})})
        r = c.getresponse()
        r.read()
        if conn is None:
            c.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}

    def test_limit_holds_within_5_percent_from_several_threads(self):
        # 50/s with a burst of 5, hammered by 4 keep-alive clients (spread over the 2
        # workers) for 4 s: allowed = burst + 50/s x the window, within 5% of the rate part.
        allowed, refused, other = [0], [0], []
        lock = threading.Lock()
        stop = time.monotonic() + 4.0
        start = time.monotonic()

        def client():
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            while time.monotonic() < stop:
                status, headers = self.get("steady.test", conn=c)
                with lock:
                    if status == 200:
                        allowed[0] += 1
                    elif status == 429 and headers.get("x-gatehouse-reason") == "rate_limited":
                        refused[0] += 1
                    else:
                        other.append(status)
                if status != 200 and headers.get("connection") == "close":
                    c.close()
                    c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            c.close()

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        window = time.monotonic() - start
        self.assertEqual(other, [])
        self.assertGreater(refused[0], allowed[0], "the clients must outrun the limit")
        expected = 50 * window
        self.assertLess(abs(allowed[0] - 5 - expected), 0.05 * expected,
                        f"allowed {allowed[0]} in {window:.2f} s, expected 5 + {expected:.0f}")

    def test_keys_have_separate_buckets_and_retry_after_is_sane(self):
        for _ in range(2):
            self.assertEqual(self.get("keyed.test", {"X-Api-Key": "alice"})[0], 200)
        status, headers = self.get("keyed.test", {"X-Api-Key": "alice"})
        self.assertEqual(status, 429)
        self.assertEqual(headers["x-gatehouse-reason"], "rate_limited")
        # 2 per minute: the next token is 30 s away (rounded up to whole seconds).
        self.assertIn(int(headers["retry-after"]), (29, 30))
        # Another key has its own bucket; a refusal costs alice nothing more.
        self.assertEqual(self.get("keyed.test", {"X-Api-Key": "bob"})[0], 200)
        self.assertEqual(self.get("keyed.test", {"X-Api-Key": "bob"})[0], 200)
        self.assertEqual(self.get("keyed.test", {"X-Api-Key": "bob"})[0], 429)
        # Other routes of the listener are not limited.
        for _ in range(5):
            self.assertEqual(self.get("other.test")[0], 200)
        m = self.gh.metrics()
        self.assertGreaterEqual(
            m['gatehouse_rate_limited_total{kind="RateLimit",name="default/per-key"}'], 2)
        self.assertGreaterEqual(m['gatehouse_local_replies_total{reason="rate_limited"}'], 2)

    def test_listener_limit_by_client_ip(self):
        statuses = [self.get("any.test", port=self.port2)[0] for _ in range(5)]
        self.assertEqual(statuses, [200, 200, 200, 429, 429])
        # 3 per hour: 20 minutes to the next token.
        status, headers = self.get("any.test", port=self.port2)
        self.assertEqual(status, 429)
        self.assertIn(int(headers["retry-after"]), (1199, 1200))
        # The other listener shares the route but not the listener's limit.
        self.assertEqual(self.get("any.test")[0], 200)

    def test_a_reload_keeps_the_buckets_of_an_unchanged_limit(self):
        for _ in range(2):
            self.get("keyed.test", {"X-Api-Key": "carol"})
        self.assertEqual(self.get("keyed.test", {"X-Api-Key": "carol"})[0], 429)
        version = self.gh.config_version()
        self.gh.apply(config(self.port, self.port2, self.upstream.port) +
                      "---\napiVersion: gatehouse.dev/v1\nkind: Service\nmetadata: {name: x}\n"
                      "spec: {directResponse: {status: 204}}\n")
        self.gh.wait_version(version + 1)
        self.assertEqual(self.get("keyed.test", {"X-Api-Key": "carol"})[0], 429)


if __name__ == "__main__":
    unittest.main()
