"""The topology carries the last minute of traffic (spec/admin.md "Topology": the graph with
the traffic between its parts): a listener -> route edge has that route's requests on that
listener, edges into a Service and the Service node have what was sent to it, with the 5xx
share, so a failing Service shows as failing; an edge without traffic says so (null)."""

import os
import unittest

from harness import Gatehouse, free_port
from test_admin_api import PASSWORD, Client
from test_admin_observability import CONFIG, FIXTURES, get


class TopologyTrafficTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.edge = free_port()
        cls.gh = Gatehouse(workers=2)
        cls.gh.apply(CONFIG.format(port=cls.edge, dead=free_port(), tls_port=free_port(),
                                   fixtures=FIXTURES))
        cls.gh.start()
        initial = open(os.path.join(cls.gh.data_dir, "initial-admin-password")).read().strip()
        admin = Client(cls.gh.admin_port)
        assert admin.login("admin", initial)[0] == 200
        assert admin.api("POST", "password", {"current": initial, "new": PASSWORD})[0] == 200
        assert admin.api("POST", "users", {"name": "vi", "role": "viewer",
                                           "password": PASSWORD})[0] == 201
        cls.viewer = Client(cls.gh.admin_port)
        assert cls.viewer.login("vi", PASSWORD)[0] == 200
        for _ in range(20):
            assert get(cls.edge, "/") == 200
        for _ in range(5):
            assert get(cls.edge, "/broken") == 503

    @classmethod
    def tearDownClass(cls):
        cls.gh.cleanup()

    def topology(self):
        status, topo = self.viewer.api("GET", "topology")
        self.assertEqual(status, 200, topo)
        return topo

    def test_edges_and_nodes_carry_the_last_minute(self):
        topo = self.topology()
        self.assertTrue(topo["measured"])
        edges = {(e["from"], e["to"]): e for e in topo["edges"]}
        nodes = {n["id"]: n for n in topo["nodes"]}

        served = edges[("Listener/default/edge", "HTTPRoute/default/welcome")]["traffic"]
        self.assertEqual(served["requests"], 20)
        self.assertEqual(served["errorRate"], 0)
        self.assertGreater(served["rps"], 0)
        self.assertGreater(served["p99"], 0)
        # The same route on the HTTPS listener had no requests.
        self.assertIsNone(edges[("Listener/default/secure", "HTTPRoute/default/welcome")]["traffic"])

        failing = edges[("HTTPRoute/default/broken", "Service/default/broken")]["traffic"]
        self.assertEqual((failing["requests"], failing["errorRate"]), (5, 1.0))
        self.assertEqual(nodes["Service/default/broken"]["traffic"]["errorRate"], 1.0)
        self.assertEqual(nodes["HTTPRoute/default/broken"]["traffic"]["requests"], 5)
        self.assertEqual(nodes["Service/default/welcome"]["traffic"]["requests"], 20)
        # Nothing went to the pool Service.
        self.assertIsNone(edges[("HTTPRoute/default/broken", "Service/default/pool")]["traffic"])


if __name__ == "__main__":
    unittest.main()
