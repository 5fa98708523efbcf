"""Rejection rules of spec/http.md ("Limits" and "Always rejected with 400"), end to end.

Every test sends raw bytes to the real gateway and checks what a client and a backend would
see: the status (400, 413, 414 or 431), the x-gatehouse-reason of the local reply, that the
connection is closed after it, that the upstream got nothing (for head errors: not a single
byte; for body errors, detected while the body streams after the head was forwarded: never a
complete request, and the upstream connection that saw the broken framing is closed, not
pooled), and that the matching gatehouse_http_parse_rejections_total counter moved by one.

Positive controls sit next to the rules whose boundary they pin (the largest accepted request
line, 100 headers, repeated identical Content-Length, ...), so a gateway that refuses
everything does not pass.
"""

import socket
import threading
import time

from harness import (Gatehouse, GatehouseTest, Upstream, UpstreamRequest, free_port,
                     parse_responses, simple_config, wait_for)

# How long to give a (wrongly) forwarded request to reach the upstream before counting.
SETTLE = 0.1
# A reply that does not end with EOF within this time means the connection stayed open.
EOF_TIMEOUT = 3.0

KIB = 1024


# --- helpers local to this suite ------------------------------------------------------------


class RecordingUpstream(Upstream):
    """The harness upstream, but recording every raw byte per connection, and robust to a
    gateway that closes in the middle of a request (the harness parser would spin on EOF
    inside a chunked body). Replies 200 "upstream <name>" to every complete request."""

    def __init__(self, name="u1"):
        self.conns = []  # one dict per accepted connection: data (bytearray), closed (bool)
        self.log = []    # (conn record, chunk) in arrival order, across connections
        super().__init__(name)

    def raw_mark(self):
        with self.lock:
            return len(self.log)

    def raw_since(self, mark):
        """Bytes received since mark, and the connection records they arrived on."""
        with self.lock:
            entries = self.log[mark:]
        data = b"".join(chunk for _, chunk in entries)
        recs = []
        for rec, _ in entries:
            if not any(r is rec for r in recs):
                recs.append(rec)
        return data, recs

    def _serve(self, conn):
        rec = {"data": bytearray(), "closed": False}
        with self.lock:
            self.conns.append(rec)
        conn.settimeout(30)
        buf = b""

        def recv():
            d = conn.recv(65536)
            if not d:
                raise EOFError
            with self.lock:
                rec["data"] += d
                self.log.append((rec, d))
            return d

        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    buf += recv()
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:]]
                hmap = {n.lower(): v for n, v in headers}
                body = b""
                if "content-length" in hmap:
                    n = int(hmap["content-length"])
                    while len(buf) < n:
                        buf += recv()
                    body, buf = buf[:n], buf[n:]
                elif hmap.get("transfer-encoding", "").lower() == "chunked":
                    parts = []
                    while True:
                        while b"\r\n" not in buf:
                            buf += recv()
                        size_line, buf = buf.split(b"\r\n", 1)
                        size = int(size_line.split(b";")[0], 16)
                        if size == 0:
                            while True:  # trailer section up to the empty line
                                while b"\r\n" not in buf:
                                    buf += recv()
                                line, buf = buf.split(b"\r\n", 1)
                                if not line:
                                    break
                            break
                        while len(buf) < size + 2:
                            buf += recv()
                        parts.append(buf[:size])
                        buf = buf[size + 2:]
                    body = b"".join(parts)
                req = UpstreamRequest(head, method, target, headers, body)
                req.body_len = len(body)
                with self.lock:
                    self.requests.append(req)
                reply = f"upstream {self.name}".encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: " + str(len(reply)).encode()
                             + b"\r\nx-upstream: " + self.name.encode() + b"\r\n\r\n" + reply)
                if hmap.get("connection", "").lower() == "close":
                    return
        except (OSError, ValueError, EOFError):
            return
        finally:
            rec["closed"] = True
            try:
                conn.close()
            except OSError:
                pass


def exchange(port, parts, timeout=EOF_TIMEOUT, gap=0.0, between=None):
    """Sends parts (bytes or a list of bytes, written separately `gap` seconds apart; the
    callable `between` runs after each but the last), then reads until EOF.
    Returns (received bytes, closed): closed is True when the server ended the connection
    (EOF or reset) before the timeout."""
    if isinstance(parts, bytes):
        parts = [parts]
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    chunks = []
    closed = False
    try:
        for i, p in enumerate(parts):
            try:
                s.sendall(p)
            except (BrokenPipeError, ConnectionResetError):
                break  # the gateway already answered and closed; read what it said
            if i + 1 < len(parts):
                if between:
                    between()
                if gap:
                    time.sleep(gap)
        deadline = time.monotonic() + timeout
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not d:
                closed = True
                break
            chunks.append(d)
        return b"".join(chunks), closed
    finally:
        s.close()


def header_lines(total, base=(b"Host: a", b"Connection: close")):
    """Header lines (each with its CRLF, without the final empty line) totalling exactly
    `total` bytes: the base fields, then X-Fill-NN fields padding up to the size."""
    out = b"".join(line + b"\r\n" for line in base)
    remaining = total - len(out)
    assert remaining >= 0
    n = 0
    while remaining > 0:
        prefix = b"X-Fill-%03d: " % n
        minimal = len(prefix) + 1 + 2
        # Take up to 4000 bytes per line, but never leave a remainder too short for a line.
        size = min(remaining, 4000)
        if remaining - size and remaining - size < minimal:
            size = remaining - minimal
        assert size >= minimal
        out += prefix + b"v" * (size - len(prefix) - 2) + b"\r\n"
        remaining -= size
        n += 1
    assert len(out) == total
    return out


def request_line(total, version=b"HTTP/1.1"):
    """`GET /aaa... HTTP/1.1` of exactly `total` bytes, CRLF excluded."""
    fixed = len(b"GET /") + 1 + len(version)
    line = b"GET /" + b"a" * (total - fixed) + b" " + version
    assert len(line) == total
    return line


def parse_key(reason):
    return f'gatehouse_http_parse_rejections_total{{reason="{reason}"}}'


def local_key(reason):
    return f'gatehouse_local_replies_total{{reason="{reason}"}}'


class RejectionBase(GatehouseTest):
    """One gatehouse and one recording upstream per class; LISTENER_HTTP sets spec.http."""

    LISTENER_HTTP = ""

    @classmethod
    def setUpClass(cls):
        cls.upstream = RecordingUpstream("u1")
        cls.port = free_port()
        cls.gh = Gatehouse(workers=cls.WORKERS)
        try:
            cls.gh.apply(cls.config())
            cls.gh.start()
        except Exception:
            cls.gh.cleanup()
            cls.upstream.stop()
            raise

    @classmethod
    def config(cls):
        return simple_config(cls.port, [cls.upstream.port], listener_http=cls.LISTENER_HTTP)

    # -- assertions --

    def assertRejected(self, data, status, reason, reasons=None, body_error=False,
                       counter="parse", gap=0.0, between=None, forbid=None):
        """Sends `data`; asserts one local reply `status` with x-gatehouse-reason `reason`
        (or any of `reasons`), the connection closed after it, the upstream untouched, and
        the rejection counter up by exactly one.

        body_error: the error lies in the body, found after the head went upstream: the
        upstream may have seen the head and some data, but no complete request (not the
        terminating 0 chunk), and every upstream connection that saw it must be closed.
        counter: "parse" (gatehouse_http_parse_rejections_total) or "local"
        (gatehouse_local_replies_total), keyed by the reason.
        forbid: bytes the upstream must never receive (a smuggled request)."""
        up = self.upstream
        count0 = up.count()
        mark = up.raw_mark()
        m0 = self.gh.metrics()
        out, closed = exchange(self.port, data, gap=gap, between=between)
        resps = parse_responses(out)
        self.assertEqual(len(resps), 1, f"expected exactly one reply, got {out!r}")
        status_got, headers, _ = resps[0]
        got_reason = headers.get("x-gatehouse-reason")
        self.assertEqual(status_got, status, f"reply: {out!r}")
        if reasons:
            self.assertIn(got_reason, reasons, f"reply: {out!r}")
        else:
            self.assertEqual(got_reason, reason, f"reply: {out!r}")
        self.assertEqual(headers.get("connection"), "close", f"reply: {out!r}")
        self.assertTrue(closed, f"connection left open after the {status} reply")

        time.sleep(SETTLE)
        self.assertEqual(up.count(), count0, "the upstream received a complete request")
        seen, recs = up.raw_since(mark)
        if body_error:
            self.assertNotIn(b"\r\n0\r\n\r\n", seen,
                             f"the upstream received the end of the body: {seen[-200:]!r}")
            # A connection that saw a framing error is never reused: the gateway closes it.
            wait_for(lambda: all(r["closed"] for r in recs), 3,
                     what="the gateway to close the upstream connection of the broken body")
        else:
            self.assertEqual(seen, b"", f"the upstream received bytes: {seen[:300]!r}")
        if forbid is not None:
            self.assertNotIn(forbid, seen, "the smuggled request reached the upstream")

        m1 = self.gh.metrics()
        key = (parse_key if counter == "parse" else local_key)(got_reason)
        self.assertIn(key, m1, "no such counter in /metrics")
        self.assertEqual(m1[key] - m0.get(key, 0), 1, f"{key} did not move by exactly one")
        return out

    def assertAccepted(self, data, body=None, target=None):
        """Sends `data` (which asks Connection: close); asserts one 200 from the upstream,
        which received exactly one request (with `body` / `target` when given). Returns it."""
        up = self.upstream
        count0 = up.count()
        out, closed = exchange(self.port, data)
        resps = parse_responses(out)
        self.assertEqual(len(resps), 1, f"expected one response, got {out[:300]!r}")
        status, headers, rbody = resps[0]
        self.assertEqual(status, 200, f"reply: {out[:300]!r}")
        self.assertEqual(rbody, b"upstream u1")
        self.assertTrue(closed)
        wait_for(lambda: up.count() >= count0 + 1, 3, what="the upstream request")
        time.sleep(SETTLE)
        self.assertEqual(up.count(), count0 + 1)
        req = up.requests[-1]
        if body is not None:
            self.assertEqual(req.body, body)
        if target is not None:
            self.assertEqual(req.target, target)
        return req

    def assertBodyNotReparsed(self, first_head, status, reason):
        """A request refused by a local reply before its Content-Length body was read: the
        body (here a complete request) must never be taken for the next request. Keep-alive
        after skipping the body would be fine, so this waits at most a second for EOF."""
        smuggled = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
        mark = self.upstream.raw_mark()
        out, _ = exchange(self.port, first_head + b"Content-Length: %d\r\n\r\n" % len(smuggled)
                          + smuggled, timeout=1.0)
        time.sleep(SETTLE)
        seen, _ = self.upstream.raw_since(mark)
        self.assertNotIn(b"/smuggled", seen,
                         f"the refused request's body reached the upstream as a request; "
                         f"client got {out!r}")
        resps = parse_responses(out)
        self.assertEqual([(s, h.get("x-gatehouse-reason")) for s, h, _ in resps],
                         [(status, reason)], f"reply: {out!r}")


GET = b"GET / HTTP/1.1\r\nHost: a\r\n"
POST = b"POST /post HTTP/1.1\r\nHost: a\r\n"
CHUNKED_HEAD = b"POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"


class RejectionTest(RejectionBase):
    """Default limits."""

    # --- Content-Length and Transfer-Encoding --------------------------------------------

    def test_content_length_and_transfer_encoding(self):
        self.assertRejected(POST + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"0\r\n\r\n", 400, "content_length_and_transfer_encoding")

    def test_transfer_encoding_and_content_length(self):
        self.assertRejected(POST + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                            b"0\r\n\r\n", 400, "content_length_and_transfer_encoding")

    def test_content_length_empty(self):
        self.assertRejected(POST + b"Content-Length: \r\n\r\n", 400, "bad_content_length")

    def test_content_length_plus_sign(self):
        self.assertRejected(POST + b"Content-Length: +5\r\n\r\nhello", 400, "bad_content_length")

    def test_content_length_minus_sign(self):
        self.assertRejected(POST + b"Content-Length: -5\r\n\r\nhello", 400, "bad_content_length")

    def test_content_length_hex(self):
        self.assertRejected(POST + b"Content-Length: 0x5\r\n\r\nhello", 400,
                            "bad_content_length")

    def test_content_length_trailing_garbage(self):
        self.assertRejected(POST + b"Content-Length: 5a\r\n\r\nhello", 400,
                            "bad_content_length")

    def test_content_length_overflow(self):
        self.assertRejected(POST + b"Content-Length: 99999999999999999999999\r\n\r\nhello", 400,
                            "bad_content_length")

    def test_content_length_two_fields_differ(self):
        self.assertRejected(POST + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
                            400, "bad_content_length")

    def test_content_length_list_differs(self):
        self.assertRejected(POST + b"Content-Length: 5, 6\r\n\r\nhello!", 400,
                            "bad_content_length")

    def test_content_length_identical_fields_are_folded(self):
        req = self.assertAccepted(POST + b"Content-Length: 5\r\nContent-Length: 5\r\n"
                                  b"Connection: close\r\n\r\nhello", body=b"hello")
        self.assertEqual(req.header_all("content-length"), ["5"])

    def test_content_length_identical_list_is_folded(self):
        req = self.assertAccepted(POST + b"Content-Length: 5, 5\r\nConnection: close\r\n\r\n"
                                  b"hello", body=b"hello")
        self.assertEqual(req.header_all("content-length"), ["5"])

    def test_transfer_encoding_gzip(self):
        self.assertRejected(POST + b"Transfer-Encoding: gzip\r\n\r\n", 400,
                            "bad_transfer_encoding")

    def test_transfer_encoding_chunked_not_final(self):
        self.assertRejected(POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400,
                            "bad_transfer_encoding")

    def test_transfer_encoding_identity(self):
        self.assertRejected(POST + b"Transfer-Encoding: identity\r\n\r\n", 400,
                            "bad_transfer_encoding")

    def test_transfer_encoding_empty(self):
        self.assertRejected(POST + b"Transfer-Encoding: \r\n\r\n", 400, "bad_transfer_encoding")

    def test_transfer_encoding_chunked_twice_in_list(self):
        self.assertRejected(POST + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400,
                            "bad_transfer_encoding")

    def test_transfer_encoding_chunked_twice_in_two_fields(self):
        self.assertRejected(POST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
                            b"\r\n\r\n0\r\n\r\n", 400, "bad_transfer_encoding")

    def test_transfer_encoding_in_http10(self):
        self.assertRejected(b"POST /post HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                            b"\r\n5\r\nhello\r\n0\r\n\r\n", 400, "bad_transfer_encoding")

    # --- field syntax --------------------------------------------------------------------

    def test_obs_fold_space(self):
        self.assertRejected(GET + b"X-A: 1\r\n continued\r\n\r\n", 400, "obs_fold")

    def test_obs_fold_tab(self):
        self.assertRejected(GET + b"X-A: 1\r\n\tcontinued\r\n\r\n", 400, "obs_fold")

    def test_whitespace_before_first_field(self):
        # RFC 9112 2.2: a line starting with whitespace right after the request line.
        self.assertRejected(b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "obs_fold")

    def test_space_between_name_and_colon(self):
        self.assertRejected(GET + b"X-A : 1\r\n\r\n", 400, "bad_header_name")

    def test_tab_between_name_and_colon(self):
        self.assertRejected(GET + b"X-A\t: 1\r\n\r\n", 400, "bad_header_name")

    def test_space_before_colon_on_host(self):
        # The classic smuggling variant: a backend that trims would see a second Host.
        self.assertRejected(b"GET / HTTP/1.1\r\nHost : b\r\nHost: a\r\n\r\n", 400,
                            "bad_header_name")

    def test_name_with_parentheses(self):
        self.assertRejected(GET + b"X(a): 1\r\n\r\n", 400, "bad_header_name")

    def test_name_with_at_sign(self):
        self.assertRejected(GET + b"X@a: 1\r\n\r\n", 400, "bad_header_name")

    def test_empty_name(self):
        self.assertRejected(GET + b": v\r\n\r\n", 400, "bad_header_name")

    def test_header_line_without_colon(self):
        self.assertRejected(GET + b"X-A\r\n\r\n", 400, "missing_colon")

    def test_control_character_in_value(self):
        self.assertRejected(GET + b"X-A: a\x01b\r\n\r\n", 400, "bad_header_value")

    def test_del_in_value(self):
        self.assertRejected(GET + b"X-A: a\x7fb\r\n\r\n", 400, "bad_header_value")

    # --- NUL, bare CR, bare LF -----------------------------------------------------------

    def test_nul_in_value(self):
        self.assertRejected(GET + b"X-A: a\x00b\r\n\r\n", 400, "nul_in_head")

    def test_nul_deep_in_long_value(self):
        # Past the first 16 bytes: the vectorised scan must find it too.
        self.assertRejected(GET + b"X-A: " + b"v" * 40 + b"\x00" + b"v" * 40 + b"\r\n\r\n",
                            400, "nul_in_head")

    def test_nul_in_field_name(self):
        self.assertRejected(GET + b"X-\x00A: 1\r\n\r\n", 400, "nul_in_head")

    def test_nul_in_request_line(self):
        self.assertRejected(b"GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "nul_in_head")

    def test_nul_in_method(self):
        self.assertRejected(b"GE\x00T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "nul_in_head")

    def test_bare_cr_in_value(self):
        self.assertRejected(GET + b"X-A: a\rb\r\n\r\n", 400, "bare_cr")

    def test_bare_cr_ends_value(self):
        self.assertRejected(GET + b"X-A: a\rX-B: b\r\n\r\n", 400, "bare_cr")

    def test_bare_cr_in_request_line(self):
        self.assertRejected(b"GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare_cr")

    def test_bare_lf_in_value(self):
        self.assertRejected(GET + b"X-A: a\nb\r\n\r\n", 400, "bare_lf")

    def test_bare_lf_in_request_line(self):
        self.assertRejected(b"GET /a\nb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare_lf")

    def test_bare_lf_ends_request_line(self):
        self.assertRejected(b"GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare_lf")

    def test_bare_lf_ends_header_line(self):
        self.assertRejected(b"GET / HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n", 400, "bare_lf")

    def test_bare_lf_ends_head(self):
        self.assertRejected(b"GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "bare_lf")

    def test_bare_lf_everywhere(self):
        self.assertRejected(b"GET / HTTP/1.1\nHost: a\n\n", 400, "bare_lf")

    # --- chunked body framing (found while the body streams, after the head) -------------

    def test_chunked_valid_with_extensions_passes(self):
        # Control for the chunk tests below: the same head with a well-formed body passes.
        self.assertAccepted(b"POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked"
                            b"\r\nConnection: close\r\n\r\n5;a=b;c=\"d e\"\r\nhello\r\n"
                            b"6 ; x\r\n world\r\n0\r\n\r\n", body=b"hello world")

    def test_chunk_size_not_hex(self):
        self.assertRejected(CHUNKED_HEAD + b"zz\r\nhello\r\n0\r\n\r\n", 400, "bad_chunk_size",
                            body_error=True)

    def test_chunk_size_empty(self):
        self.assertRejected(CHUNKED_HEAD + b"\r\nhello\r\n0\r\n\r\n", 400, "bad_chunk_size",
                            body_error=True)

    def test_chunk_size_overflow(self):
        self.assertRejected(CHUNKED_HEAD + b"10000000000000000\r\nhello\r\n0\r\n\r\n", 400,
                            "bad_chunk_size", body_error=True)

    def test_chunk_size_overflow_in_second_chunk(self):
        self.assertRejected(CHUNKED_HEAD + b"5\r\nhello\r\n1ffffffffffffffff\r\nx\r\n0\r\n\r\n",
                            400, "bad_chunk_size", body_error=True)

    def test_chunk_extension_without_name(self):
        self.assertRejected(CHUNKED_HEAD + b"5;=x\r\nhello\r\n0\r\n\r\n", 400,
                            "bad_chunk_extension", body_error=True)

    def test_chunk_extension_value_with_space(self):
        self.assertRejected(CHUNKED_HEAD + b"5;a=b c\r\nhello\r\n0\r\n\r\n", 400,
                            "bad_chunk_extension", body_error=True)

    def test_chunk_data_without_crlf(self):
        self.assertRejected(CHUNKED_HEAD + b"5\r\nhelloXX\r\n0\r\n\r\n", 400,
                            "bad_chunk_framing", body_error=True)

    def test_chunk_data_without_crlf_streamed(self):
        # The head and the first chunk go out first; the broken framing arrives once the
        # upstream has the head.
        mark = self.upstream.raw_mark()

        def head_upstream():
            wait_for(lambda: b"\r\n\r\n" in self.upstream.raw_since(mark)[0], 3,
                     what="the head at the upstream")

        self.assertRejected([CHUNKED_HEAD + b"5\r\nhello", b"X0\r\n\r\n"], 400,
                            "bad_chunk_framing", body_error=True, between=head_upstream)

    def test_chunk_size_line_ends_with_bare_lf(self):
        self.assertRejected(CHUNKED_HEAD + b"5\nhello\r\n0\r\n\r\n", 400, "bad_chunk_framing",
                            body_error=True)

    # --- Host ----------------------------------------------------------------------------

    def test_two_host_fields(self):
        self.assertRejected(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
                            "multiple_host")

    def test_two_identical_host_fields(self):
        self.assertRejected(b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400,
                            "multiple_host")

    def test_host_disagrees_with_absolute_target(self):
        self.assertRejected(b"GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n", 400,
                            "host_mismatch")

    def test_host_agrees_with_absolute_target_passes(self):
        req = self.assertAccepted(b"GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n"
                                  b"Connection: close\r\n\r\n", target="/x")
        self.assertEqual(req.header("host"), "a.example")

    def test_missing_host_http11(self):
        self.assertRejected(b"GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400, "missing_host")

    def test_missing_host_http11_absolute_form(self):
        self.assertRejected(b"GET http://a.example/ HTTP/1.1\r\n\r\n", 400, "missing_host")

    def test_missing_host_http10_passes(self):
        self.assertAccepted(b"GET /ten HTTP/1.0\r\n\r\n", target="/ten")

    def test_bad_host_with_space(self):
        self.assertRejected(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "bad_host")

    def test_bad_host_with_userinfo(self):
        self.assertRejected(b"GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400, "bad_host")

    def test_bad_host_port_out_of_range(self):
        self.assertRejected(b"GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", 400, "bad_host")

    def test_bad_host_empty(self):
        self.assertRejected(b"GET / HTTP/1.1\r\nHost: \r\n\r\n", 400, "bad_host")

    def test_bad_host_with_slash(self):
        self.assertRejected(b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "bad_host")

    # --- method, target, version ---------------------------------------------------------

    def test_method_with_control_character(self):
        self.assertRejected(b"GE\x01T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_method")

    def test_method_with_tab(self):
        self.assertRejected(b"GE\tT / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_method")

    def test_method_with_space(self):
        # "G ET / HTTP/1.1" reads as method "G", target "ET", then "/ HTTP/1.1" where the
        # version belongs: not a valid request line, whichever byte the parser blames.
        self.assertRejected(b"G ET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, None,
                            reasons=("bad_request_line", "bad_method", "bad_version"))

    def test_request_line_leading_space(self):
        self.assertRejected(b" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_method")

    def test_request_line_double_space(self):
        self.assertRejected(b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_request_line")

    def test_request_line_trailing_space(self):
        self.assertRejected(b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "bad_request_line")

    def test_target_with_control_character(self):
        self.assertRejected(b"GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target")

    def test_target_with_control_character_deep(self):
        # Past the first 16 bytes of the target: the vectorised scan.
        self.assertRejected(b"GET /" + b"a" * 40 + b"\x1f" + b"b" * 20 +
                            b" HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target")

    def test_target_with_del(self):
        self.assertRejected(b"GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target")

    def test_target_with_tab(self):
        self.assertRejected(b"GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target")

    def test_target_with_high_byte(self):
        self.assertRejected(b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target")

    def test_target_with_space(self):
        # "/a b HTTP/1.1": the target ends at the space, "b HTTP/1.1" is no version.
        self.assertRejected(b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, None,
                            reasons=("bad_request_line", "bad_target", "bad_version"))

    def test_version_http2(self):
        self.assertRejected(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400, "bad_version")

    def test_version_http12(self):
        self.assertRejected(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 400, "bad_version")

    def test_version_http110(self):
        self.assertRejected(b"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, "bad_version")

    def test_version_lowercase(self):
        self.assertRejected(b"GET / http/1.1\r\nHost: a\r\n\r\n", 400, "bad_version")

    def test_version_missing_http09(self):
        self.assertRejected(b"GET /\r\n\r\n", 400, "bad_request_line")

    # --- limits (defaults) ---------------------------------------------------------------

    def test_request_line_at_limit_passes(self):
        # The limit counts the request line without its CRLF: 8192 bytes pass.
        line = request_line(8 * KIB)
        self.assertAccepted(line + b"\r\nHost: a\r\nConnection: close\r\n\r\n",
                            target=line[4:-9].decode())

    def test_request_line_over_limit(self):
        self.assertRejected(request_line(8 * KIB + 1) + b"\r\nHost: a\r\n\r\n", 414,
                            "request_line_too_long")

    def test_request_line_over_limit_refused_before_its_end(self):
        # 9000 bytes of request line and no CRLF yet, connection kept open: 414 at once.
        self.assertRejected(b"GET /" + b"a" * 9000, 414, "request_line_too_long")

    def test_headers_at_limit_pass(self):
        # 60 KiB of header section, the final empty line included: accepted whichever way
        # the final CRLF is counted.
        self.assertAccepted(b"GET /h HTTP/1.1\r\n" + header_lines(60 * KIB - 2) + b"\r\n",
                            target="/h")

    def test_headers_over_limit(self):
        # Header lines alone (final CRLF not counted) over 60 KiB.
        self.assertRejected(b"GET /h HTTP/1.1\r\n" + header_lines(60 * KIB + 1) + b"\r\n",
                            431, "headers_too_large")

    def test_headers_far_over_limit_refused_before_their_end(self):
        self.assertRejected(b"GET /h HTTP/1.1\r\nHost: a\r\nX-Big: " + b"v" * (70 * KIB),
                            431, "headers_too_large")

    def test_100_headers_pass(self):
        fields = b"Host: a\r\nConnection: close\r\n" + b"".join(
            b"X-%03d: v\r\n" % i for i in range(98))
        req = self.assertAccepted(b"GET /n HTTP/1.1\r\n" + fields + b"\r\n", target="/n")
        self.assertEqual(req.header("x-097"), "v")

    def test_101_headers(self):
        fields = b"Host: a\r\nConnection: close\r\n" + b"".join(
            b"X-%03d: v\r\n" % i for i in range(99))
        self.assertRejected(b"GET /n HTTP/1.1\r\n" + fields + b"\r\n", 431, "too_many_headers")

    # --- pipelining after a rejection ----------------------------------------------------

    def test_pipelined_request_after_bad_request_line_not_processed(self):
        self.assertRejected(b"GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n"
                            b"GET /second HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_target",
                            forbid=b"/second")

    def test_pipelined_request_after_bad_header_not_processed(self):
        self.assertRejected(b"GET /first HTTP/1.1\r\nHost: a\r\nX-A : 1\r\n\r\n"
                            b"GET /second HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad_header_name",
                            forbid=b"/second")

    def test_smuggling_cl_te_not_processed(self):
        self.assertRejected(b"POST /first HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                            b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", 400,
                            "content_length_and_transfer_encoding", forbid=b"/smuggled")

    def test_bad_path_body_not_parsed_as_next_request(self):
        # spec: "a path that escapes the root is 400" -- and its body is still a body.
        self.assertBodyNotReparsed(b"POST /../x HTTP/1.1\r\nHost: a\r\n", 400, "bad_path")

    def test_unsupported_expectation_body_not_parsed_as_next_request(self):
        self.assertBodyNotReparsed(b"POST /p HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n", 417,
                                   "expectation_failed")

    def test_pipelined_request_after_chunk_error_not_processed(self):
        self.assertRejected(CHUNKED_HEAD + b"5\r\nhelloXX0\r\n\r\n"
                            b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", 400,
                            "bad_chunk_framing", body_error=True, forbid=b"/smuggled")


class LoweredLimitsTest(RejectionBase):
    """spec.http overrides on the listener are honoured."""

    LISTENER_HTTP = ("{maxRequestLineBytes: 1024, maxHeaderBytes: 2048, maxHeaders: 10, "
                     "maxBodyBytes: 100}")

    def test_request_line_at_lowered_limit_passes(self):
        line = request_line(1024)
        self.assertAccepted(line + b"\r\nHost: a\r\nConnection: close\r\n\r\n",
                            target=line[4:-9].decode())

    def test_request_line_over_lowered_limit(self):
        self.assertRejected(request_line(1025) + b"\r\nHost: a\r\n\r\n", 414,
                            "request_line_too_long")

    def test_default_sized_request_line_refused(self):
        self.assertRejected(request_line(4 * KIB) + b"\r\nHost: a\r\n\r\n", 414,
                            "request_line_too_long")

    def test_10_headers_pass(self):
        fields = b"Host: a\r\nConnection: close\r\n" + b"".join(
            b"X-%d: v\r\n" % i for i in range(8))
        self.assertAccepted(b"GET /n HTTP/1.1\r\n" + fields + b"\r\n", target="/n")

    def test_11_headers(self):
        fields = b"Host: a\r\nConnection: close\r\n" + b"".join(
            b"X-%d: v\r\n" % i for i in range(9))
        self.assertRejected(b"GET /n HTTP/1.1\r\n" + fields + b"\r\n", 431, "too_many_headers")

    def test_header_bytes_at_lowered_limit_pass(self):
        self.assertAccepted(b"GET /h HTTP/1.1\r\n" + header_lines(2048 - 2) + b"\r\n",
                            target="/h")

    def test_header_bytes_over_lowered_limit(self):
        self.assertRejected(b"GET /h HTTP/1.1\r\n" + header_lines(2049) + b"\r\n", 431,
                            "headers_too_large")

    def test_content_length_body_at_limit_passes(self):
        self.assertAccepted(POST + b"Content-Length: 100\r\nConnection: close\r\n\r\n"
                            + b"b" * 100, body=b"b" * 100)

    def test_content_length_body_over_limit(self):
        # Known from the head: refused before the upstream sees anything.
        self.assertRejected(POST + b"Content-Length: 101\r\n\r\n" + b"b" * 101, 413,
                            "body_too_large", counter="local")

    def test_content_length_over_limit_body_not_parsed_as_next_request(self):
        # The refused body is a complete request: it must never reach the upstream.
        smuggled = b"GET /smuggled HTTP/1.1\r\nHost: a\r\nX-Pad: " + b"p" * 80 + b"\r\n\r\n"
        self.assertGreater(len(smuggled), 100)
        self.assertRejected(POST + b"Content-Length: %d\r\n\r\n" % len(smuggled) + smuggled,
                            413, "body_too_large", counter="local", forbid=b"/smuggled")

    def test_chunked_body_at_limit_passes(self):
        self.assertAccepted(b"POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked"
                            b"\r\nConnection: close\r\n\r\n32\r\n" + b"c" * 50 + b"\r\n32\r\n"
                            + b"d" * 50 + b"\r\n0\r\n\r\n", body=b"c" * 50 + b"d" * 50)

    def test_chunked_body_over_limit(self):
        # Found while streaming: the upstream may have the head and the first 100 bytes,
        # never the end of the body.
        self.assertRejected(CHUNKED_HEAD + b"64\r\n" + b"c" * 100 + b"\r\n1\r\nx\r\n0\r\n\r\n",
                            413, "body_too_large", counter="local", body_error=True)

    def test_chunked_body_over_limit_in_one_chunk(self):
        self.assertRejected(CHUNKED_HEAD + b"65\r\n" + b"c" * 101 + b"\r\n0\r\n\r\n",
                            413, "body_too_large", counter="local", body_error=True)
