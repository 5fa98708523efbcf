"""Tracing (gatehouse run --tracing-collector, docs/observability.md "Tracing"): W3C
traceparent/tracestate continued to the upstream with this hop's span id (or a new trace when
absent), B3 accepted, sampling; sampled exchanges exported as OTLP/HTTP JSON to a collector —
here a small HTTP server in the test. A dead collector leaves traffic alone and the lost spans
are counted."""

import http.client
import http.server
import json
import re
import threading
import unittest

from harness import Gatehouse, Upstream, free_port, simple_config, wait_for

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0([01])$")


class Collector:
    """Accepts POST /v1/traces with OTLP JSON and keeps the spans."""

    def __init__(self):
        self.spans = []
        self.lock = threading.Lock()
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                doc = json.loads(body)
                with collector.lock:
                    for rs in doc["resourceSpans"]:
                        attrs = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
                        for ss in rs["scopeSpans"]:
                            for s in ss["spans"]:
                                s["_service"] = attrs["service.name"]["stringValue"]
                                s["_path"] = self.path
                                collector.spans.append(s)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def of_trace(self, trace_id):
        with self.lock:
            return [s for s in self.spans if s["traceId"] == trace_id]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def echo(port, headers):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", "/echo/t", headers={"Host": "shop.test", **headers})
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            return r.status, {}
        seen = {}
        for k, v in json.loads(body)["headers"]:
            seen.setdefault(k.lower(), v)
        return r.status, seen
    finally:
        c.close()


class TracingTest(unittest.TestCase):
    def setUp(self):
        self.collector = Collector()
        self.upstream = Upstream("u1")
        self.port = free_port()
        self.gh = Gatehouse(workers=2)

    def tearDown(self):
        self.gh.cleanup()
        self.upstream.stop()
        self.collector.stop()

    def start(self, sampling):
        self.gh.apply(simple_config(self.port, [self.upstream.port]))
        self.gh.start("--tracing-collector",
                      f"http://127.0.0.1:{self.collector.port}/v1/traces",
                      "--tracing-sampling", str(sampling), "--tracing-service-name", "edge-gw",
                      "--access-log", "-", "--access-log-format", "json")

    def test_traceparent_continued_upstream_and_spans_exported(self):
        self.start(0)  # only incoming decisions sample
        status, seen = echo(self.port, {"traceparent": f"00-{TRACE}-{PARENT}-01",
                                        "tracestate": "vendor=abc"})
        self.assertEqual(status, 200)
        m = TRACEPARENT.match(seen["traceparent"])
        self.assertIsNotNone(m, seen["traceparent"])
        self.assertEqual(m.group(1), TRACE)      # same trace
        self.assertNotEqual(m.group(2), PARENT)  # this hop's span
        self.assertEqual(m.group(3), "1")        # the client's decision
        self.assertEqual(seen["tracestate"], "vendor=abc")
        hop = m.group(2)

        wait_for(lambda: len(self.collector.of_trace(TRACE)) >= 2, 10, what="two spans")
        spans = {s["kind"]: s for s in self.collector.of_trace(TRACE)}
        server, client = spans[2], spans[3]  # SPAN_KIND_SERVER, SPAN_KIND_CLIENT
        self.assertEqual(server["parentSpanId"], PARENT)
        self.assertEqual(client["spanId"], hop)  # what the upstream received as parent
        self.assertEqual(client["parentSpanId"], server["spanId"])
        self.assertEqual(server["name"], "GET default/all")
        self.assertEqual(server["_service"], "edge-gw")
        self.assertEqual(server["_path"], "/v1/traces")
        self.assertLessEqual(int(server["startTimeUnixNano"]), int(client["startTimeUnixNano"]))
        self.assertLessEqual(int(client["endTimeUnixNano"]), int(server["endTimeUnixNano"]))
        attrs = {a["key"]: a["value"] for a in server["attributes"]}
        self.assertEqual(attrs["http.status_code"], {"intValue": "200"})
        # The access log names the trace.
        wait_for(lambda: TRACE in self.gh.logs(), 5, what="the trace id in the access log")

        # Not sampled by the client: propagated, not exported.
        other = "0af7651916cd43dd8448eb211c80319c"
        status, seen = echo(self.port, {"traceparent": f"00-{other}-{PARENT}-00"})
        self.assertTrue(seen["traceparent"].startswith(f"00-{other}-"))
        self.assertTrue(seen["traceparent"].endswith("-00"))
        self.assertEqual(self.gh.metrics()["gatehouse_tracing_spans_dropped_total"], 0)

    def test_new_trace_when_absent_and_b3_accepted(self):
        self.start(100)
        status, seen = echo(self.port, {})
        m = TRACEPARENT.match(seen["traceparent"])
        self.assertIsNotNone(m)
        self.assertEqual(m.group(3), "1")  # sampled at 100 %
        wait_for(lambda: len(self.collector.of_trace(m.group(1))) == 2, 10,
                 what="spans of the new trace")
        server = [s for s in self.collector.of_trace(m.group(1)) if s["kind"] == 2][0]
        self.assertNotIn("parentSpanId", {k for k, v in server.items() if v})  # a root span

        # B3 (64-bit trace id, padded) continues as W3C upstream; b3 itself passes through.
        b3 = "a3ce929d0e0e4736-00f067aa0ba902b7-1"
        status, seen = echo(self.port, {"b3": b3})
        self.assertEqual(status, 200)
        self.assertTrue(seen["traceparent"].startswith("00-0000000000000000a3ce929d0e0e4736-"),
                        seen["traceparent"])
        self.assertEqual(seen["b3"], b3)

        # An invalid traceparent is replaced by a new trace.
        status, seen = echo(self.port, {"traceparent": "00-XYZ-nothing-01"})
        self.assertIsNotNone(TRACEPARENT.match(seen["traceparent"]))

    def test_dead_collector_leaves_traffic_alone_and_counts_the_loss(self):
        self.start(100)
        self.assertEqual(echo(self.port, {})[0], 200)
        wait_for(lambda: self.gh.metrics().get("gatehouse_tracing_spans_exported_total", 0) >= 2,
                 10, what="spans exported while the collector is up")
        self.collector.stop()
        for _ in range(50):
            status, seen = echo(self.port, {})
            self.assertEqual(status, 200)
            self.assertIn("traceparent", seen)
        wait_for(lambda: self.gh.metrics().get("gatehouse_tracing_spans_export_failed_total", 0)
                 >= 2, 15, what="failed exports counted")
        m = self.gh.metrics()
        lost = m["gatehouse_tracing_spans_export_failed_total"] + \
            m["gatehouse_tracing_spans_dropped_total"]
        self.assertGreaterEqual(lost, 2)


if __name__ == "__main__":
    unittest.main()
