"""examples/mesh-demo/run.sh --check: the documented one-command demo works — a CA node, an
edge gateway and two workload nodes joined with tokens; a request through the edge reaches
frontend over mTLS, which calls orders through its outbound port over mTLS."""

import os
import random
import shutil
import socket
import subprocess
import tempfile
import unittest

from harness import BINARY, ROOT

OFFSETS = (12, 101, 106, 180, 206, 280, 901, 902, 903, 904)


def free(port):
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False


class MeshDemoTest(unittest.TestCase):
    def test_demo_check_passes(self):
        for _ in range(50):
            base = random.randrange(20000, 50000, 1000)
            if all(free(base + o) for o in OFFSETS) and free(base + 443):
                break
        work = tempfile.mkdtemp(prefix="gh-demo-")
        try:
            env = dict(os.environ, GATEHOUSE_BIN=BINARY, MESH_DEMO_PORT_BASE=str(base),
                       MESH_DEMO_EDGE_PORT=str(base + 443), MESH_DEMO_DIR=work)
            r = subprocess.run([os.path.join(ROOT, "examples", "mesh-demo", "run.sh"), "--check"],
                               env=env, capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("every hop mutually authenticated, the policy holds", r.stdout)
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
