"""Proxy behaviour of spec/http.md: keep-alive, pipelining, chunked, 100-continue, HTTP/1.0,
hop-by-hop stripping, X-Forwarded-*, x-request-id, local replies, upstream failures."""

import http.client
import json
import socket
import time

from harness import (GatehouseTest, Upstream, free_port, parse_responses, raw_exchange,
                     simple_config, wait_for)


class ProxyTest(GatehouseTest):

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r, data

    def test_get_through_proxy(self):
        r, data = self.request("GET", "/hello")
        self.assertEqual(r.status, 200)
        self.assertEqual(data, b"upstream u1")
        self.assertEqual(r.getheader("x-upstream"), "u1")

    def test_keep_alive_reuses_both_connections(self):
        before = self.upstream.connections
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        for i in range(20):
            c.request("GET", f"/echo/{i}")
            r = c.getresponse()
            self.assertEqual(json.loads(r.read())["target"], f"/echo/{i}")
        c.close()
        # 20 requests on one client connection used at most one new upstream connection per
        # worker (the pool keeps them).
        self.assertLessEqual(self.upstream.connections - before, 2)

    def test_pipelined_requests_answered_in_order(self):
        reqs = b"".join(
            f"GET /echo/p{i} HTTP/1.1\r\nHost: a\r\n\r\n".encode() for i in range(5))
        reqs += b"GET /echo/last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        resps = parse_responses(raw_exchange(self.port, reqs))
        self.assertEqual(len(resps), 6)
        targets = [json.loads(b)["target"] for _, _, b in resps]
        self.assertEqual(targets, [f"/echo/p{i}" for i in range(5)] + ["/echo/last"])

    def test_request_body_content_length(self):
        r, data = self.request("POST", "/echo", body=b"a" * 100_000)
        self.assertEqual(json.loads(data)["body_len"], 100_000)

    def test_chunked_request_is_rechunked_upstream(self):
        body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"
        data = raw_exchange(self.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
                            b"chunked\r\nConnection: close\r\n\r\n" + body)
        (status, _, b), = parse_responses(data)
        self.assertEqual(status, 200)
        echo = json.loads(b)
        self.assertEqual(echo["body"], "hello world")
        names = [n.lower() for n, _ in echo["headers"]]
        self.assertIn("transfer-encoding", names)
        # The chunk extension was not passed on: the upstream saw our own framing.
        req = self.upstream.requests[-1]
        self.assertEqual(req.header("transfer-encoding"), "chunked")

    def test_chunked_response_to_http11_and_http10_clients(self):
        data = raw_exchange(self.port, b"GET /chunked/5000 HTTP/1.1\r\nHost: a\r\n"
                            b"Connection: close\r\n\r\n")
        (status, headers, body), = parse_responses(data)
        self.assertEqual(headers.get("transfer-encoding"), "chunked")
        self.assertEqual(body, b"y" * 5000)
        # HTTP/1.0 client: no chunked; the end of the body is the close.
        data = raw_exchange(self.port, b"GET /chunked/5000 HTTP/1.0\r\nHost: a\r\n\r\n")
        head, body = data.split(b"\r\n\r\n", 1)
        self.assertNotIn(b"chunked", head.lower())
        self.assertIn(b"connection: close", head.lower())
        self.assertEqual(body, b"y" * 5000)

    def test_close_delimited_response_is_chunked_for_http11(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("GET", "/close/3000")
        r = c.getresponse()
        self.assertEqual(r.getheader("transfer-encoding"), "chunked")
        self.assertEqual(r.read(), b"z" * 3000)
        # The client connection stays usable.
        c.request("GET", "/hello")
        self.assertEqual(c.getresponse().read(), b"upstream u1")
        c.close()

    def test_http10_keep_alive(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        data = b""
        while b"upstream u1" not in data:
            data += s.recv(65536)
        self.assertIn(b"connection: keep-alive", data.lower())
        s.sendall(b"GET /hello HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        self.assertIn(b"upstream u1", data)
        s.close()

    def test_expect_100_continue(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
        interim = s.recv(65536)
        self.assertTrue(interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), interim)
        s.sendall(b"hello")
        data = interim[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
        (status, _, body), = parse_responses(data)
        self.assertEqual(status, 200)
        echo = json.loads(body)
        self.assertEqual(echo["body"], "hello")
        self.assertNotIn("expect", [n.lower() for n, _ in echo["headers"]])

    def test_unknown_expectation_is_417(self):
        data = raw_exchange(self.port, b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                            b"Expect: something\r\n\r\nx")
        (status, headers, _), = parse_responses(data)
        self.assertEqual(status, 417)
        self.assertEqual(headers["x-gatehouse-reason"], "expectation_failed")

    def test_hop_by_hop_headers_are_not_forwarded(self):
        r, data = self.request("GET", "/echo", headers={
            "Connection": "keep-alive, X-Secret", "X-Secret": "1", "Keep-Alive": "timeout=5",
            "TE": "trailers", "Proxy-Authorization": "x", "Trailer": "x-t", "X-Kept": "yes"})
        names = [n.lower() for n, _ in json.loads(data)["headers"]]
        for h in ("connection", "x-secret", "keep-alive", "te", "proxy-authorization", "trailer"):
            self.assertNotIn(h, names)
        self.assertIn("x-kept", names)

    def test_forwarded_headers_and_request_id(self):
        r, data = self.request("GET", "/echo", headers={"X-Forwarded-For": "6.6.6.6",
                                                        "Host": "shop.example"})
        h = {n.lower(): v for n, v in json.loads(data)["headers"]}
        # No trusted hops by default: the client's X-Forwarded-For is replaced, not appended to.
        self.assertEqual(h["x-forwarded-for"], "127.0.0.1")
        self.assertEqual(h["x-forwarded-proto"], "http")
        self.assertEqual(h["x-forwarded-host"], "shop.example")
        self.assertRegex(h["x-request-id"],
                         r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        r, data = self.request("GET", "/echo", headers={"x-request-id": "abc-123"})
        h = {n.lower(): v for n, v in json.loads(data)["headers"]}
        self.assertEqual(h["x-request-id"], "abc-123")

    def test_path_is_normalised_before_forwarding(self):
        data = raw_exchange(self.port, b"GET /echo/a/./b/../c/%7Euser HTTP/1.1\r\nHost: a\r\n"
                            b"Connection: close\r\n\r\n")
        (status, _, body), = parse_responses(data)
        self.assertEqual(json.loads(body)["target"], "/echo/a/c/~user")

    def test_path_escaping_root_is_400(self):
        n = self.upstream.count()
        data = raw_exchange(self.port, b"GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n")
        (status, headers, _), = parse_responses(data)
        self.assertEqual(status, 400)
        self.assertEqual(headers["x-gatehouse-reason"], "bad_path")
        self.assertEqual(self.upstream.count(), n)

    def test_options_asterisk_is_forwarded(self):
        data = raw_exchange(self.port, b"OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        (status, _, body), = parse_responses(data)
        self.assertEqual(status, 200)
        self.assertEqual(self.upstream.requests[-1].target, "*")

    def test_head_request_has_no_body(self):
        data = raw_exchange(self.port, b"HEAD /bytes/100 HTTP/1.1\r\nHost: a\r\n\r\n"
                            b"GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        # The HEAD reply carries the length but no body; the next reply follows directly.
        head, rest = data.split(b"\r\n\r\n", 1)
        self.assertIn(b"content-length: 100", head.lower())
        self.assertTrue(rest.startswith(b"HTTP/1.1 200"), rest[:50])

    def test_websocket_upgrade_becomes_a_tunnel(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                  b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(65536)
        self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
        self.assertIn(b"upgrade: websocket", head.lower())
        # The upstream saw the handshake fields it needs.
        req = self.upstream.requests[-1]
        self.assertEqual(req.header("upgrade"), "websocket")
        self.assertEqual(req.header("sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==")
        # Raw bytes now flow both ways, including ones that look like HTTP.
        for payload in (b"\x81\x05hello", b"GET / HTTP/1.1\r\n\r\n", b"x" * 200_000):
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                got += s.recv(65536)
            self.assertEqual(got, payload)
        s.close()

    def test_upstream_closing_pooled_connections_is_invisible(self):
        # /once answers and closes its connection without Connection: close; the next
        # requests must not fail on that dead pooled connection.
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        for i in range(20):
            c.request("GET", "/once" if i % 2 == 0 else "/hello")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
        c.close()

    def test_abandoned_partial_head_leaves_no_exchange_counted(self):
        # A client that sends part of a head and goes away never started an exchange.
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            s.sendall(b"GET /partial HTTP/1.1\r\nHost: a\r\n")
            time.sleep(0.05)
            s.close()
        wait_for(lambda: self.gh.metrics()["gatehouse_downstream_cx_active"] == 0, 5,
                 what="connections closed")
        self.assertEqual(self.gh.metrics()["gatehouse_downstream_rq_active"], 0)

    def test_upstream_status_passes_through(self):
        r, data = self.request("GET", "/status/503")
        self.assertEqual(r.status, 503)
        self.assertIsNone(r.getheader("x-gatehouse-reason"))

    def test_bad_upstream_response_is_502(self):
        r, data = self.request("GET", "/raw", headers={"x-raw-response": "HTTP/1.1 200 OK\\r\\n"
                                                       "Content-Length: 5\\r\\nContent-Length: 6"
                                                       "\\r\\n\\r\\nhello!"})
        self.assertEqual(r.status, 502)
        self.assertEqual(r.getheader("x-gatehouse-reason"), "upstream_bad_response")

    def test_upstream_reset_before_response_is_502(self):
        r, data = self.request("GET", "/raw", headers={"x-raw-response": ""})
        self.assertEqual(r.status, 502)
        self.assertEqual(r.getheader("x-gatehouse-reason"), "upstream_reset")


class UpstreamDownTest(GatehouseTest):

    @classmethod
    def config(cls):
        return simple_config(cls.port, [free_port()])  # nothing listens there

    def test_connect_refused_is_502(self):
        data = raw_exchange(self.port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", timeout=3)
        (status, headers, _), = parse_responses(data)
        self.assertEqual(status, 502)
        self.assertEqual(headers["x-gatehouse-reason"], "upstream_connect_failed")
        m = self.gh.metrics()
        self.assertGreaterEqual(m["gatehouse_upstream_cx_connect_fail_total"], 1)


class TimeoutTest(GatehouseTest):

    @classmethod
    def config(cls):
        return simple_config(cls.port, [cls.upstream.port],
                             listener_http="{headTimeout: 1s, idleTimeout: 1s}") \
            .replace("    - backendRefs: [{name: app}]",
                     "    - backendRefs: [{name: app}]\n      timeouts: {backendRequest: 300ms}")

    def test_backend_request_timeout_is_504(self):
        data = raw_exchange(self.port, b"GET /sleep/1500 HTTP/1.1\r\nHost: a\r\n\r\n", timeout=5)
        (status, headers, _), = parse_responses(data)
        self.assertEqual(status, 504)
        self.assertEqual(headers["x-gatehouse-reason"], "upstream_timeout")

    def test_slow_head_gets_408(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")  # never finishes the head
        start = time.monotonic()
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
        self.assertLess(time.monotonic() - start, 3)
        self.assertTrue(data.startswith(b"HTTP/1.1 408"), data[:80])
        self.assertIn(b"x-gatehouse-reason: head_timeout", data)

    def test_idle_keep_alive_connection_is_closed(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        data = b""
        while b"upstream u1" not in data:
            data += s.recv(65536)
        start = time.monotonic()
        self.assertEqual(s.recv(65536), b"")  # closed by the server, without a reply
        self.assertLess(time.monotonic() - start, 3)
        self.assertGreater(time.monotonic() - start, 0.5)
        s.close()


class RequestTimeoutTest(GatehouseTest):
    """timeouts.request bounds the whole exchange, even while the upstream is still working."""

    @classmethod
    def config(cls):
        return simple_config(cls.port, [cls.upstream.port]).replace(
            "    - backendRefs: [{name: app}]",
            "    - backendRefs: [{name: app}]\n      timeouts: {request: 400ms}")

    def test_request_timeout_is_504(self):
        start = time.monotonic()
        data = raw_exchange(self.port, b"GET /sleep/2000 HTTP/1.1\r\nHost: a\r\n"
                            b"Connection: close\r\n\r\n", timeout=5)
        elapsed = time.monotonic() - start
        (status, headers, _), = parse_responses(data)
        self.assertEqual(status, 504)
        self.assertEqual(headers["x-gatehouse-reason"], "request_timeout")
        self.assertLess(elapsed, 1.5)
        # A fast request on the same route is unaffected.
        data = raw_exchange(self.port, b"GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        (status, _, body), = parse_responses(data)
        self.assertEqual((status, body), (200, b"upstream u1"))
