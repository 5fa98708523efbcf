#!/usr/bin/env bash
# The mesh demo: a CA node, an edge gateway on 8443, and two workloads (frontend, orders), each
# behind its own Gatehouse node with its own data dir, all on loopback. A request through the
# edge reaches frontend over mTLS, and frontend calls orders through its node's outbound port,
# again over mTLS. See README.md.
#
# usage: examples/mesh-demo/run.sh [--check]
#   --check   make one request through the edge, print it, exit 0 if every hop was mutually
#             authenticated as expected (used by the test suite); otherwise keep running
#             until Ctrl-C.
# environment: GATEHOUSE_BIN (default build/gatehouse), MESH_DEMO_PORT_BASE (default 15000),
#              MESH_DEMO_EDGE_PORT (default 8443), MESH_DEMO_DIR (default a new temp dir).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GH=${GATEHOUSE_BIN:-$ROOT/build/gatehouse}
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1
if [ ! -x "$GH" ]; then
  echo "building gatehouse first (make)..." >&2
  make -C "$ROOT" >&2
fi

B=${MESH_DEMO_PORT_BASE:-15000}
EDGE=${MESH_DEMO_EDGE_PORT:-8443}
CA_PORT=$((B + 12))
FRONT_IN=$((B + 106)); FRONT_OUT=$((B + 101)); FRONT_APP=$((B + 180))
ORDERS_IN=$((B + 206)); ORDERS_APP=$((B + 280))
W=${MESH_DEMO_DIR:-$(mktemp -d /tmp/gatehouse-mesh-demo.XXXXXX)}
mkdir -p "$W"
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

wait_ready() {  # admin port, name
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$1/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "$2 did not become ready; its log:" >&2
  cat "$W/$2/run.log" >&2
  exit 1
}

mesh_config() {
  cat <<YAML
apiVersion: gatehouse.dev/v1
kind: MeshConfig
metadata: {name: default}
spec: {trustDomain: cluster.local, mtls: STRICT, certificateTTL: 1h, caAddress: "127.0.0.1:$CA_PORT"}
YAML
}

start_node() {  # name, admin port (configuration in $W/name.yaml)
  "$GH" apply -f "$W/$1.yaml" --data-dir "$W/$1" --message "mesh demo" >/dev/null
  "$GH" run --data-dir "$W/$1" --workers 1 --admin "127.0.0.1:$2" >"$W/$1/run.log" 2>&1 &
  PIDS+=($!)
  wait_ready "$2" "$1"
}

join_node() {  # name, workload [namespace]
  mkdir -p "$W/$1"
  token=$("$GH" ca token create --workload "$2" --namespace "${3:-default}" --data-dir "$W/ca" 2>/dev/null)
  "$GH" join --ca "127.0.0.1:$CA_PORT" --token "$token" --data-dir "$W/$1" >&2
}

say "CA node: a new mesh CA, enrollment on 127.0.0.1:$CA_PORT"
"$GH" ca init --data-dir "$W/ca" >&2
mesh_config >"$W/ca.yaml"
start_node ca $((B + 901))

say "orders node: joins as production/orders, MESH_INBOUND :$ORDERS_IN -> orders app :$ORDERS_APP, policy.yaml"
join_node orders orders production
{ mesh_config; cat <<YAML; echo "---"; cat "$HERE/policy.yaml"; } >"$W/orders.yaml"
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: orders-service, namespace: production, labels: {app: orders-service}}
spec: {serviceAccount: orders, address: 127.0.0.1, port: $ORDERS_APP}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: inbound, namespace: production}
spec: {address: 127.0.0.1, port: $ORDERS_IN, protocol: MESH_INBOUND}
YAML
start_node orders $((B + 902))
python3 "$HERE/app.py" orders "$ORDERS_APP" & PIDS+=($!)

say "frontend node: joins as frontend, MESH_INBOUND :$FRONT_IN -> frontend app :$FRONT_APP, MESH_OUTBOUND :$FRONT_OUT"
join_node frontend frontend
{ mesh_config; cat <<YAML; } >"$W/frontend.yaml"
---
apiVersion: gatehouse.dev/v1
kind: Workload
metadata: {name: frontend, labels: {app: frontend}}
spec: {serviceAccount: frontend, address: 127.0.0.1, port: $FRONT_APP}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: inbound}
spec: {address: 127.0.0.1, port: $FRONT_IN, protocol: MESH_INBOUND}
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: outbound}
spec: {address: 127.0.0.1, port: $FRONT_OUT, protocol: MESH_OUTBOUND}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: orders, namespace: production}
spec:
  endpoints: [{address: 127.0.0.1, port: $ORDERS_IN}]
  mesh: true
  identity: spiffe://cluster.local/ns/production/sa/orders
YAML
start_node frontend $((B + 903))
python3 "$HERE/app.py" frontend "$FRONT_APP" "$FRONT_OUT" & PIDS+=($!)

say "edge gateway: joins as edge, HTTPS :$EDGE -> frontend (mesh)"
join_node edge edge
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost \
  -keyout "$W/edge-tls.key" -out "$W/edge-tls.crt" 2>/dev/null
{ mesh_config; cat <<YAML; } >"$W/edge.yaml"
---
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: public}
spec:
  address: 127.0.0.1
  port: $EDGE
  protocol: HTTPS
  tls:
    certificates: [{certFile: $W/edge-tls.crt, keyFile: $W/edge-tls.key}]
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: frontend}
spec:
  endpoints: [{address: 127.0.0.1, port: $FRONT_IN}]
  mesh: true
  identity: spiffe://cluster.local/ns/default/sa/frontend
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: site}
spec:
  parentRefs: [{name: public}]
  rules:
    - backendRefs: [{name: frontend}]
YAML
start_node edge $((B + 904))

REQUEST=(curl -sS --cacert "$W/edge-tls.crt" --resolve "localhost:$EDGE:127.0.0.1"
         "https://localhost:$EDGE/")
for _ in $(seq 50); do  # the apps start in the background
  curl -fs "http://127.0.0.1:$ORDERS_APP/" >/dev/null 2>&1 &&
    curl -fs -o /dev/null "http://127.0.0.1:$FRONT_APP/" 2>/dev/null && break
  sleep 0.1
done
say "${REQUEST[*]}"
answer=$("${REQUEST[@]}")
echo "$answer"

# The policy allows frontend GET and POST only: a DELETE sent as frontend is refused.
say "curl -X DELETE -H 'Host: orders' http://127.0.0.1:$FRONT_OUT/orders/1   (as the frontend app)"
denied=$(curl -s -o /dev/null -w '%{http_code} %header{x-gatehouse-reason}' -X DELETE \
  -H 'Host: orders' "http://127.0.0.1:$FRONT_OUT/orders/1")
echo "$denied"

if [ "$CHECK" = 1 ]; then
  python3 - "$answer" "$denied" <<'PY'
import json, sys
a = json.loads(sys.argv[1])
td = "spiffe://cluster.local/ns/"
ok = (a["service"] == "frontend" and a["caller"] == td + "default/sa/edge"
      and a["orders_status"] == 200 and a["orders"]["service"] == "orders"
      and a["orders"]["caller"] == td + "default/sa/frontend"
      and sys.argv[2] == "403 rbac_denied")
print("mesh demo: every hop mutually authenticated, the policy holds" if ok
      else "mesh demo: UNEXPECTED ANSWER")
sys.exit(0 if ok else 1)
PY
  exit $?
fi

cat >&2 <<TEXT

The mesh is running (data dirs and logs in $W). Try:
  ${REQUEST[*]}
  curl -s http://127.0.0.1:$((B + 903))/metrics | grep gatehouse_mesh
  $GH cert status --data-dir $W/frontend
  curl -s -H 'Host: orders' http://127.0.0.1:$FRONT_OUT/orders     # as the frontend app would
  curl -sk https://127.0.0.1:$ORDERS_IN/                        # refused: no client certificate
  curl -s -X DELETE -H 'Host: orders' http://127.0.0.1:$FRONT_OUT/orders/1   # 403: the policy
Ctrl-C stops everything.
TEXT
wait
