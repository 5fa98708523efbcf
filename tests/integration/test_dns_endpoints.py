"""Service endpoints given as DNS names (issue 6, docs/traffic.md "Endpoints given as DNS
names"): the control thread resolves them with `--dns-server` pointed at a tiny in-test DNS
responder and re-resolves on the TTL. A name that moves to another address moves the traffic
with no 5xx; a failing or silent name server keeps the last good addresses; before the first
answer a Service with only that name answers 503 no_healthy_upstream while a Service mixing
addresses and names serves its addresses; other routes are answered at once whatever DNS
does; `gatehouse validate` does no DNS."""

import http.client
import os
import socket
import struct
import subprocess
import threading
import time
import unittest

from harness import BINARY, Gatehouse, Upstream, free_port, wait_for
from test_admin_api import PASSWORD, Client

NAME = "api.test.internal"


class DnsResponder:
    """A UDP DNS server on 127.0.0.1 that answers A questions from `answers` (name -> list of
    IPv4 addresses) with a TTL of `ttl` seconds. `mode`: "answer", "servfail" (rcode 2 to
    everything), "nxdomain" (rcode 3) or "silent" (no reply at all). AAAA questions for a known
    name get an empty NOERROR answer (no IPv6 address). Counts the A questions it was asked."""

    def __init__(self):
        self.answers = {}
        self.ttl = 1
        self.mode = "answer"
        self.queries = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def set(self, name, addresses, mode="answer"):
        with self.lock:
            self.answers[name] = list(addresses)
            self.mode = mode

    def set_mode(self, mode):
        with self.lock:
            self.mode = mode

    def stop(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass

    def _loop(self):
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            reply = self._reply(data)
            if reply is not None:
                try:
                    self.sock.sendto(reply, peer)
                except OSError:
                    return

    def _reply(self, data):
        if len(data) < 12:
            return None
        qid, _flags, qdcount = struct.unpack(">HHH", data[:6])
        if qdcount != 1:
            return None
        # The question: labels up to the root, then type and class. The name is echoed back
        # byte for byte (evdns randomizes the case of the names it asks and checks it).
        i = 12
        labels = []
        while i < len(data) and data[i] != 0:
            n = data[i]
            labels.append(data[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
        if i + 5 > len(data):
            return None
        question = data[12:i + 5]
        qtype, _qclass = struct.unpack(">HH", data[i + 1:i + 5])
        name = ".".join(labels).lower()
        with self.lock:
            mode = self.mode
            addresses = list(self.answers.get(name, []))
            ttl = self.ttl
            if qtype == 1:
                self.queries += 1
        if mode == "silent":
            return None

        def header(rcode, ancount):
            # QR, RD and RA set; rcode in the low bits.
            return struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, ancount, 0, 0)

        if mode == "servfail":
            return header(2, 0) + question
        if mode == "nxdomain" or name not in self.answers:
            return header(3, 0) + question
        if qtype != 1:
            return header(0, 0) + question  # NOERROR, no data (no AAAA)
        out = header(0, len(addresses)) + question
        for a in addresses:
            out += struct.pack(">HHHIH", 0xC00C, 1, 1, ttl, 4) + socket.inet_aton(a)
        return out


class BoundUpstream(Upstream):
    """An Upstream on a given loopback address and port (two of them share a port on
    127.0.0.1 and 127.0.0.2, so a DNS answer alone decides which one is reached)."""

    def __init__(self, name, host, port):
        self.failing = False  # answer 503 to everything but health checks
        self.name = name
        self.port = port
        self.requests = []
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(512)
        self.stopping = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def _respond(self, conn, req):
        if self.failing and req.target != "/healthz":
            conn.sendall(b"HTTP/1.1 503 X\r\ncontent-length: 0\r\nx-upstream: "
                         + self.name.encode() + b"\r\n\r\n")
            return True
        return super()._respond(conn, req)


def config(listen_port, api_port, plain_port, mixed_port):
    return f"""apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: edge}}
spec: {{address: 127.0.0.1, port: {listen_port}, protocol: HTTP}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: api}}
spec:
  endpoints: [{{address: {NAME}, port: {api_port}}}]
  healthCheck: {{path: /healthz, interval: 200ms, timeout: 1s}}
  trafficPolicy:
    outlierDetection: {{consecutive5xxErrors: 1, maxEjectionPercent: 100, baseEjectionTime: 60s}}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: plain}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {plain_port}}}]
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: mixed}}
spec:
  endpoints:
    - {{address: 127.0.0.1, port: {mixed_port}}}
    - {{address: {NAME}, port: {api_port}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: all}}
spec:
  parentRefs: [{{name: edge}}]
  rules:
    - matches: [{{path: {{type: PathPrefix, value: /plain}}}}]
      backendRefs: [{{name: plain}}]
    - matches: [{{path: {{type: PathPrefix, value: /mixed}}}}]
      backendRefs: [{{name: mixed}}]
    - backendRefs: [{{name: api}}]
"""


class DnsEndpointsTest(unittest.TestCase):
    def setUp(self):
        self.dns = DnsResponder()
        self.api_port = free_port()
        self.a = BoundUpstream("a", "127.0.0.1", self.api_port)
        try:
            self.b = BoundUpstream("b", "127.0.0.2", self.api_port)
        except OSError:
            self.a.stop()
            self.dns.stop()
            raise
        self.plain = Upstream("plain")
        self.mixed = Upstream("mixed")
        self.port = free_port()
        self.gh = Gatehouse(workers=2)
        self.gh.apply(config(self.port, self.api_port, self.plain.port, self.mixed.port))

    def tearDown(self):
        self.gh.cleanup()
        for u in (self.a, self.b, self.plain, self.mixed):
            u.stop()
        self.dns.stop()

    def start(self):
        self.gh.start("--dns-server", f"127.0.0.1:{self.dns.port}")
        initial = open(os.path.join(self.gh.data_dir, "initial-admin-password")).read().strip()
        self.admin = Client(self.gh.admin_port)
        assert self.admin.login("admin", initial)[0] == 200
        assert self.admin.api("POST", "password", {"current": initial, "new": PASSWORD})[0] == 200

    def get(self, path="/", timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request("GET", path, headers={"Host": "x"})
            r = c.getresponse()
            r.read()
            return r.status, r.getheader("x-upstream"), r.getheader("x-gatehouse-reason")
        finally:
            c.close()

    def clusters(self):
        status, body = self.admin.api("GET", "clusters")
        assert status == 200, (status, body)
        return {s["name"]: s for s in body["services"]}

    def test_name_is_served_and_moves_to_a_new_address_without_5xx(self):
        self.dns.set(NAME, ["127.0.0.1"])
        self.start()
        wait_for(lambda: self.get()[1] == "a", what="traffic to a")
        version = self.gh.config_version()
        api = self.clusters()["default/api"]
        self.assertEqual(api["dnsNames"], [f"{NAME}:{self.api_port}"])
        self.assertEqual([(e["address"], e["hostname"]) for e in api["endpoints"]],
                         [(f"127.0.0.1:{self.api_port}", NAME)])

        # Traffic keeps flowing from a client thread while the name moves to b's address.
        results = []
        stop = threading.Event()

        def client():
            while not stop.is_set():
                results.append(self.get())

        t = threading.Thread(target=client)
        t.start()
        try:
            time.sleep(0.3)
            self.dns.set(NAME, ["127.0.0.2"])
            wait_for(lambda: results and results[-1][1] == "b", timeout=10,
                     what="traffic to b after the name moved")
            time.sleep(0.3)
        finally:
            stop.set()
            t.join()
        self.assertEqual([r for r in results if r[0] != 200], [], "non-200 during the switch")
        self.assertTrue(any(who == "a" for _, who, _ in results))
        # Once moved, everything goes to b.
        self.assertEqual({who for _, who, _ in (self.get() for _ in range(10))}, {"b"})
        api = self.clusters()["default/api"]
        self.assertEqual([(e["address"], e["hostname"]) for e in api["endpoints"]],
                         [(f"127.0.0.2:{self.api_port}", NAME)])
        # Not a new version: the stored configuration did not change.
        self.assertEqual(self.gh.config_version(), version)
        m = self.gh.metrics()
        self.assertGreaterEqual(m['gatehouse_dns_changes_total'], 2)
        self.assertGreaterEqual(m['gatehouse_dns_lookups_total{result="success"}'], 2)
        self.assertEqual(m['gatehouse_dns_names'], 1)
        # Active health checks probe the resolved endpoint.
        wait_for(lambda: self.gh.metrics().get(
            'gatehouse_upstream_health_checks_total{result="pass"}', 0) >= 1, what="a probe")
        wait_for(lambda: self.clusters()["default/api"]["endpoints"][0]["health"] == "healthy",
                 what="b probed healthy")

        # Two addresses: both take traffic.
        self.dns.set(NAME, ["127.0.0.1", "127.0.0.2"])
        wait_for(lambda: len(self.clusters()["default/api"]["endpoints"]) == 2,
                 what="two endpoints")
        self.assertEqual({who for _, who, _ in (self.get() for _ in range(10))}, {"a", "b"})

    def test_outlier_ejection_survives_a_re_resolution(self):
        # a fails; once each worker has ejected it, the name gains a third address: a stays
        # ejected (its state follows its address into the new snapshot), c is used.
        c = BoundUpstream("c", "127.0.0.3", self.api_port)
        try:
            self.dns.set(NAME, ["127.0.0.1", "127.0.0.2"])
            self.start()
            wait_for(lambda: len(self.clusters()["default/api"]["endpoints"]) == 2,
                     what="two endpoints")
            self.a.failing = True
            wait_for(lambda: self.get() and self.gh.metrics().get(
                "gatehouse_upstream_outlier_ejections_total", 0) >= 2, timeout=20,
                what="a ejected by both workers")
            self.assertEqual({r for r in (self.get() for _ in range(10))}, {(200, "b", None)})
            changes = self.gh.metrics()["gatehouse_dns_changes_total"]
            self.dns.set(NAME, ["127.0.0.1", "127.0.0.2", "127.0.0.3"])
            wait_for(lambda: self.gh.metrics()["gatehouse_dns_changes_total"] > changes,
                     what="the new answer")
            wait_for(lambda: len(self.clusters()["default/api"]["endpoints"]) == 3,
                     what="three endpoints")
            before = self.a.count()
            results = [self.get() for _ in range(20)]
            self.assertEqual({s for s, _, _ in results}, {200}, results)
            self.assertEqual({who for _, who, _ in results}, {"b", "c"})
            self.assertEqual(self.a.count(), before, "an ejected endpoint got traffic again")
        finally:
            c.stop()

    def test_failing_name_server_keeps_the_last_good_address(self):
        self.dns.set(NAME, ["127.0.0.2"])
        self.start()
        wait_for(lambda: self.get()[1] == "b", what="traffic to b")
        for mode in ("servfail", "nxdomain", "silent"):
            before = self.gh.metrics().get('gatehouse_dns_lookups_total{result="failure"}', 0)
            self.dns.set_mode(mode)
            results = []
            # evdns takes a SERVFAIL or no reply as a timeout (2 s, twice) before giving up.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                results.append(self.get())
                if self.gh.metrics().get(
                        'gatehouse_dns_lookups_total{result="failure"}', 0) > before:
                    break
                time.sleep(0.05)
            else:
                self.fail(f"no failed lookup counted with the responder in mode {mode}")
            results += [self.get() for _ in range(10)]
            self.assertEqual({r for r in results}, {(200, "b", None)}, mode)
            self.assertEqual(len(self.clusters()["default/api"]["endpoints"]), 1)
            self.dns.set_mode("answer")
        self.assertIn("keeping 1 address(es)", self.gh.logs())

    def test_before_the_first_answer(self):
        self.dns.set(NAME, ["127.0.0.1"], mode="silent")
        self.start()
        # The name has no address yet: its Service has no endpoint.
        self.assertEqual(self.get(), (503, None, "no_healthy_upstream"))
        # A Service that mixes an address and the name serves the address meanwhile.
        self.assertEqual({who for _, who, _ in (self.get("/mixed") for _ in range(6))},
                         {"mixed"})
        # Other routes are answered at once while the lookup waits on a silent server (the
        # workers never wait for DNS): each within a short client timeout.
        for _ in range(5):
            self.assertEqual(self.get("/plain", timeout=1.5)[:2], (200, "plain"))
        self.assertEqual(self.a.count(), 0)
        self.assertGreater(self.dns.queries, 0)
        # The name server comes back: the name gets its address (on evdns' next attempt or
        # the next retry) and both Services use it.
        self.dns.set_mode("answer")
        wait_for(lambda: self.get()[1] == "a", timeout=20, what="the first answer")
        wait_for(lambda: {"a", "mixed"} <= {self.get("/mixed")[1] for _ in range(6)},
                 what="mixed uses both")


    def test_refused_reload_keeps_the_serving_names_addresses(self):
        # The new version drops the name and cannot bind a listener: refused. The serving
        # version still uses the name, which must keep its address even though the name
        # server has gone silent (it must not be asked again as if new).
        self.dns.set(NAME, ["127.0.0.1"])
        self.start()
        wait_for(lambda: self.get()[1] == "a", what="traffic to a")
        self.dns.set_mode("silent")
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        busy = blocker.getsockname()[1]
        try:
            failures = 'gatehouse_config_reloads_total{result="failure"}'
            before = self.gh.metrics().get(failures, 0)
            text = config(self.port, self.api_port, self.plain.port, self.mixed.port)
            text = text.replace(f"address: {NAME}", "address: 127.0.0.2")
            text += f"""---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {{name: blocked}}
spec: {{address: 127.0.0.1, port: {busy}, protocol: HTTP}}
"""
            self.gh.apply(text)
            wait_for(lambda: self.gh.metrics().get(failures, 0) > before,
                     what="the refusal")
        finally:
            blocker.close()
        results = [self.get() for _ in range(10)]
        self.assertEqual(set(results), {(200, "a", None)})
        self.assertEqual(self.gh.metrics()["gatehouse_dns_names"], 1)
        # The fixed version (the name back, the port free) compiles with the name's last good
        # address while the name server is still silent.
        version = self.gh.config_version()
        self.gh.apply(config(self.port, self.api_port, self.plain.port, self.mixed.port))
        self.gh.wait_version(version + 2)  # the refused version counts
        results = [self.get() for _ in range(10)]
        self.assertEqual(set(results), {(200, "a", None)})
        api = self.clusters()["default/api"]
        self.assertEqual([e["address"] for e in api["endpoints"]], [f"127.0.0.1:{self.api_port}"])


    def test_port_edit_keeps_the_names_addresses(self):
        # Only the port changes while the name server is silent: the name's addresses are
        # kept (watches are by name; the port is applied at compile) and the new port is used.
        other_port = free_port()
        a2 = BoundUpstream("a2", "127.0.0.1", other_port)
        try:
            self.dns.set(NAME, ["127.0.0.1"])
            self.start()
            wait_for(lambda: self.get()[1] == "a", what="traffic to a")
            self.dns.set_mode("silent")
            version = self.gh.config_version()
            self.gh.apply(config(self.port, other_port, self.plain.port, self.mixed.port))
            self.gh.wait_version(version + 1)
            results = [self.get() for _ in range(10)]
            self.assertEqual(set(results), {(200, "a2", None)})
            api = self.clusters()["default/api"]
            self.assertEqual([e["address"] for e in api["endpoints"]],
                             [f"127.0.0.1:{other_port}"])
            self.assertEqual(self.gh.metrics()["gatehouse_dns_names"], 1)
        finally:
            a2.stop()


class DnsValidateTest(unittest.TestCase):
    def test_validate_accepts_names_without_resolving(self):
        path = os.path.join(os.path.dirname(BINARY), f"dns-{free_port()}.yaml")
        with open(path, "w") as f:
            f.write("apiVersion: gatehouse.dev/v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
                    "  endpoints: [{address: does-not-exist.invalid, port: 80}]\n")
        try:
            r = subprocess.run([BINARY, "validate", "-f", path], capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(path, "w") as f:
                f.write("apiVersion: gatehouse.dev/v1\nkind: Service\nmetadata: {name: s}\n"
                        "spec:\n  endpoints: [{address: Api.Example.com, port: 80}]\n")
            r = subprocess.run([BINARY, "validate", "-f", path], capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(r.returncode, 1)
            self.assertIn("spec.endpoints[0].address: a DNS name must be written in lower case: "
                          "api.example.com", r.stderr)
        finally:
            os.unlink(path)

    def test_dns_server_flag_is_checked(self):
        r = subprocess.run([BINARY, "run", "--dns-server", "not-an-address"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--dns-server not-an-address", r.stderr)


if __name__ == "__main__":
    unittest.main()
