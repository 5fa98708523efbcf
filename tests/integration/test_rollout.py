"""Staged rollout and quarantine (issue 6, docs/traffic.md "Staged rollout and quarantine"): a
header-matched canary rule plus a weighted split send a share of the traffic to version 2; the
quarantine recipe moves all of version 2's traffic to a quarantine Service in one
`gatehouse apply`, under concurrent load, with zero failed requests; `gatehouse rollback` to
the version before restores it, again without a failed request."""

import http.client
import threading
import time
import unittest

from harness import Gatehouse, Upstream, free_port, wait_for

LOAD_THREADS = 4


def services(v1, v2):
    return f"""---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: orders-v1}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {v1}}}]}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: orders-v2}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {v2}}}]}}
"""


def route(target):
    """The route of docs/traffic.md's recipe: `target` is orders-v2, or orders-quarantine."""
    return f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: orders}}
spec:
  parentRefs: [{{name: edge}}]
  hostnames: [orders.test]
  rules:
    - name: canary
      matches: [{{headers: [{{name: x-canary, value: "1"}}]}}]
      backendRefs: [{{name: {target}}}]
    - name: split
      backendRefs:
        - {{name: orders-v1, weight: 80}}
        - {{name: {target}, weight: 20}}
"""


def initial(port, v1, v2, quarantine):
    return f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec: {{address: 127.0.0.1, port: {port}, protocol: HTTP}}
""" + services(v1, v2) + route("orders-v2")


def quarantine_file(quarantine_port):
    """The recipe's one file: the quarantine Service and the route pointed at it."""
    return f"""apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: orders-quarantine}}
spec: {{endpoints: [{{address: 127.0.0.1, port: {quarantine_port}}}]}}
""" + route("orders-quarantine")


class Load:
    """LOAD_THREADS keep-alive clients sending requests back to back (half of them canaries)
    and recording (start, end, status, upstream) or the failure."""

    def __init__(self, port):
        self.port = port
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.outcomes = []
        self.failures = []
        self.threads = [threading.Thread(target=self.run, args=(i % 2 == 0,))
                        for i in range(LOAD_THREADS)]
        for t in self.threads:
            t.start()

    def run(self, canary):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Host": "orders.test", **({"X-Canary": "1"} if canary else {})}
        while not self.stop_event.is_set():
            t0 = time.monotonic()
            try:
                c.request("GET", "/", headers=headers)
                r = c.getresponse()
                r.read()
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.failures.append(repr(e))
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                continue
            with self.lock:
                self.outcomes.append((t0, time.monotonic(), r.status, r.getheader("x-upstream")))
                if r.status != 200:
                    self.failures.append(r.status)
        c.close()

    def count(self):
        with self.lock:
            return len(self.outcomes)

    def finish(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(30)

    def started_after(self, t):
        with self.lock:
            return [who for start, _, _, who in self.outcomes if start > t]


class RolloutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.v1, cls.v2, cls.q = Upstream("v1"), Upstream("v2"), Upstream("quarantine")
        cls.port = free_port()
        cls.gh = Gatehouse(workers=2)
        cls.gh.apply(initial(cls.port, cls.v1.port, cls.v2.port, cls.q.port))
        cls.gh.start()

    @classmethod
    def tearDownClass(cls):
        cls.gh.cleanup()
        for u in (cls.v1, cls.v2, cls.q):
            u.stop()

    def who(self, conn, canary=False):
        conn.request("GET", "/", headers={"Host": "orders.test",
                                          **({"X-Canary": "1"} if canary else {})})
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("x-upstream")

    def split(self, n=1000):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        seen = [self.who(c) for _ in range(n)]
        canaries = {self.who(c, canary=True) for _ in range(20)}
        c.close()
        self.assertEqual({s for s, _ in seen}, {200})
        return [w for _, w in seen], canaries

    def test_canary_header_and_weighted_split(self):
        seen, canaries = self.split()
        self.assertEqual(canaries, {(200, "v2")})
        # 20% of 1000: sd 12.6; allow about 4.5 sd.
        self.assertLess(abs(seen.count("v2") - 200), 57, seen.count("v2"))
        self.assertEqual(seen.count("v1") + seen.count("v2"), 1000)

    def test_quarantine_in_one_apply_under_load_then_rollback(self):
        before = self.gh.config_version()
        load = Load(self.port)
        try:
            wait_for(lambda: load.count() >= 200, what="load before the quarantine")
            # The recipe: one apply of one file.
            r = self.gh.apply(quarantine_file(self.q.port), "-m", "quarantine orders-v2")
            self.assertIn("1 created, 1 configured", r.stdout)
            self.gh.wait_version(before + 1)
            switched = time.monotonic()
            # Requests in flight at the switch finish on the version they started with: at
            # most one per client reaches version 2 after it.
            v2_at_switch = self.v2.count()
            q_at_switch = self.q.count()
            n = load.count()
            wait_for(lambda: load.count() >= n + 400, what="load after the quarantine")
            time.sleep(0.3)
            self.assertLessEqual(self.v2.count() - v2_at_switch, LOAD_THREADS)
            self.assertGreater(self.q.count(), q_at_switch)
            after = load.started_after(switched + 0.2)
            self.assertGreater(len(after), 100)
            self.assertNotIn("v2", after)
            self.assertIn("quarantine", after)
            self.assertIn("v1", after)

            # Fixed: back to the version before the quarantine, again under load.
            r = self.gh.cli("rollback", str(before), "-m", "orders-v2 fixed", check=True)
            self.gh.wait_version(before + 2)
            back = time.monotonic()
            q_at_back = self.q.count()
            wait_for(lambda: len(load.started_after(back + 0.2)) >= 400,
                     what="load after the rollback")
            self.assertLessEqual(self.q.count() - q_at_back, LOAD_THREADS)
            restored = load.started_after(back + 0.2)
            self.assertNotIn("quarantine", restored)
            self.assertIn("v2", restored)
        finally:
            load.finish()
        self.assertEqual(load.failures, [])
        seen, canaries = self.split(200)
        self.assertEqual(canaries, {(200, "v2")})
        self.assertIn("v2", seen)
        self.assertNotIn("quarantine", seen)
        history = self.gh.cli("history", check=True).stdout
        self.assertIn("quarantine orders-v2", history)
        self.assertIn("orders-v2 fixed", history)
