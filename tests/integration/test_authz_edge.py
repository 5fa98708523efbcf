"""Authorization at an edge listener (targetRefs) with the client address taken from trusted
X-Forwarded-For hops (remoteIpBlocks, Istio's remote.ip): with one trusted proxy in front, the
last X-Forwarded-For entry is the client; with none, the peer's address is."""

import http.client
import unittest

from harness import Gatehouse, Upstream, free_port, simple_config

POLICY = """---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: block-net}
spec:
  targetRefs: [{kind: Listener, group: gatehouse.dev, name: edge}]
  action: DENY
  rules: [{from: [{source: {remoteIpBlocks: ["203.0.113.0/24"]}}]}]
"""


def status(port, xff=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Host": "x"}
        if xff:
            headers["X-Forwarded-For"] = xff
        c.request("GET", "/", headers=headers)
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


class RemoteIpTest(unittest.TestCase):
    def start(self, trusted_hops):
        self.upstream = Upstream("u1")
        self.port = free_port()
        self.gh = Gatehouse(workers=1)
        self.gh.apply(simple_config(self.port, [self.upstream.port], extra=POLICY,
                                    listener_http=f"{{xffTrustedHops: {trusted_hops}}}"))
        self.gh.start()

    def tearDown(self):
        self.gh.cleanup()
        self.upstream.stop()

    def test_one_trusted_hop_uses_the_last_entry(self):
        self.start(1)
        self.assertEqual(status(self.port, "203.0.113.7"), 403)
        self.assertEqual(status(self.port, "198.51.100.1"), 200)
        # The entry the trusted proxy appended decides, not one the client wrote before it.
        self.assertEqual(status(self.port, "203.0.113.7, 198.51.100.1"), 200)
        self.assertEqual(status(self.port, "198.51.100.1,203.0.113.9"), 403)
        self.assertEqual(status(self.port), 200)  # no header: the peer (127.0.0.1)

    def test_two_trusted_hops_across_repeated_fields(self):
        self.start(2)
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.putrequest("GET", "/", skip_host=True)
        c.putheader("Host", "x")
        c.putheader("X-Forwarded-For", "10.1.1.1, 203.0.113.5")
        c.putheader("X-Forwarded-For", "192.0.2.1")
        c.endheaders()
        r = c.getresponse()
        r.read()
        c.close()
        self.assertEqual(r.status, 403)  # second from the right: 203.0.113.5

    def test_untrusted_header_is_ignored(self):
        self.start(0)
        self.assertEqual(status(self.port, "203.0.113.7"), 200)


if __name__ == "__main__":
    unittest.main()
