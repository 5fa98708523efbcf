#!/usr/bin/env python3
"""The demo's two tiny apps, plain HTTP on loopback, knowing nothing about TLS.

  app.py orders PORT               answers GET /orders with a list, and says who called
  app.py frontend PORT OUTBOUND    answers GET / by calling orders through its node's outbound
                                   port (Host: orders) and showing both answers

Each reads the caller's identity from x-forwarded-client-cert, which its Gatehouse node sets
from the verified client certificate (and strips from anything else)."""

import http.client
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def caller(headers):
    xfcc = headers.get("x-forwarded-client-cert", "")
    fields = dict(p.split("=", 1) for p in xfcc.split(";") if "=" in p)
    return fields.get("URI", "unauthenticated")


def make_handler(role, outbound):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def reply(self, status, payload):
            body = (json.dumps(payload, indent=2) + "\n").encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if role == "orders":
                self.reply(200, {"service": "orders", "caller": caller(self.headers),
                                 "orders": [{"id": 1, "item": "tea"}, {"id": 2, "item": "cake"}]})
                return
            c = http.client.HTTPConnection("127.0.0.1", outbound, timeout=5)
            c.request("GET", "/orders", headers={"Host": "orders"})
            r = c.getresponse()
            answer = r.read().decode()
            try:
                answer = json.loads(answer)
            except ValueError:
                pass
            self.reply(200 if r.status == 200 else 502,
                       {"service": "frontend", "caller": caller(self.headers),
                        "orders_status": r.status, "orders": answer})

        def log_message(self, *args):
            pass

    return Handler


def main():
    role, port = sys.argv[1], int(sys.argv[2])
    outbound = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    ThreadingHTTPServer(("127.0.0.1", port), make_handler(role, outbound)).serve_forever()


if __name__ == "__main__":
    main()
