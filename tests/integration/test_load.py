"""Streaming and lifecycle under load: 1 GiB each way with bounded memory, new versions under
continuous traffic with zero failures, graceful drain on SIGTERM."""

import http.client
import os
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from harness import Gatehouse, GatehouseTest, Upstream, free_port, simple_config, wait_for

GIB = 1 << 30


class LargeBodyTest(GatehouseTest):
    WORKERS = 1

    def curl(self, *args):
        r = subprocess.run(["curl", "-sS", "--max-time", "120", *args], capture_output=True,
                           text=True, timeout=150)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_1gib_download_and_uploads_with_bounded_memory(self):
        url = f"http://127.0.0.1:{self.port}"
        # Download with Content-Length.
        size = self.curl("-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                         f"{url}/bytes/{GIB}")
        self.assertEqual(size, f"200 {GIB}")
        # Upload with Content-Length (a sparse file reads as zeros at memory speed).
        with tempfile.NamedTemporaryFile() as f:
            f.truncate(GIB)
            out = self.curl("-T", f.name, f"{url}/sink")
        self.assertEqual(out, str(GIB))
        # Upload of unknown size: curl streams it chunked.
        feeder = subprocess.Popen(["head", "-c", str(GIB), "/dev/zero"], stdout=subprocess.PIPE)
        r = subprocess.run(["curl", "-sS", "--max-time", "120", "-T", "-", f"{url}/sink"],
                           stdin=feeder.stdout, capture_output=True, text=True, timeout=150)
        feeder.wait()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, str(GIB))
        self.assertEqual(self.upstream.requests[-1].header("transfer-encoding"), "chunked")
        peak = self.gh.rss_peak_kib()
        print(f"\n    peak RSS after 3 GiB through the proxy: {peak} KiB", end=" ")
        self.assertLess(peak, 64 * 1024, f"peak RSS {peak} KiB")


class ReloadUnderLoadTest(unittest.TestCase):
    """Applies new versions while clients hammer the proxy: not one request may fail."""

    def test_apply_under_continuous_load_has_zero_failures(self):
        up1, up2 = Upstream("u1"), Upstream("u2")
        port = free_port()
        gh = Gatehouse(workers=2)
        try:
            gh.apply(simple_config(port, [up1.port]))
            gh.start()
            stop = threading.Event()
            results = {"ok": 0, "fail": []}
            lock = threading.Lock()

            def client():
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                while not stop.is_set():
                    try:
                        c.request("GET", "/hello")
                        r = c.getresponse()
                        body = r.read()
                        with lock:
                            if r.status == 200 and body.startswith(b"upstream u"):
                                results["ok"] += 1
                            else:
                                results["fail"].append((r.status, body[:100]))
                    except Exception as e:  # noqa: BLE001 - any failure counts
                        with lock:
                            results["fail"].append(repr(e))
                        c.close()
                        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.close()

            threads = [threading.Thread(target=client) for _ in range(8)]
            for t in threads:
                t.start()
            version = gh.config_version()
            for i in range(8):
                time.sleep(0.3)
                target = up2 if i % 2 == 0 else up1
                extra = f"""---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: extra-{i}}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {up1.port}}}]
"""
                gh.apply(simple_config(port, [target.port], extra=extra), "--prune")
                version += 1
                gh.wait_version(version)
            time.sleep(0.3)
            stop.set()
            for t in threads:
                t.join()
            self.assertEqual(results["fail"], [])
            self.assertGreater(results["ok"], 500)
            # Both upstreams served: the versions really changed the routing.
            self.assertGreater(up1.count(), 0)
            self.assertGreater(up2.count(), 0)
        finally:
            gh.cleanup()
            up1.stop()
            up2.stop()


class DrainTest(unittest.TestCase):

    def test_sigterm_lets_in_flight_requests_complete(self):
        up = Upstream("u1")
        port = free_port()
        gh = Gatehouse(workers=2)
        try:
            gh.apply(simple_config(port, [up.port]))
            gh.start()
            results = []
            lock = threading.Lock()

            def slow():
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request("GET", "/sleep/1000")
                r = c.getresponse()
                with lock:
                    results.append((r.status, r.read(), r.getheader("connection")))
                c.close()

            threads = [threading.Thread(target=slow) for _ in range(10)]
            for t in threads:
                t.start()
            wait_for(lambda: up.count() >= 10, 5, what="requests in flight")
            gh.proc.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            # Not ready any more, and not accepting new connections.
            self.assertFalse(gh.ready())
            with self.assertRaises(OSError):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/hello")
                c.getresponse()
            for t in threads:
                t.join()
            self.assertEqual(len(results), 10)
            for status, body, connection in results:
                self.assertEqual(status, 200)
                self.assertEqual(body, b"slept 1000\n")
                self.assertEqual(connection, "close")  # told to go away after this exchange
            self.assertEqual(gh.proc.wait(10), 0)
        finally:
            gh.cleanup()
            up.stop()
