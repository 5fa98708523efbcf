import { ErrorBox, Loading, useApi } from '../components.jsx';

const COLUMNS = ['Listener', 'HTTPRoute', 'Service', 'Workload'];
const W = 230, H = 44, GAPX = 80, GAPY = 18;

// Traffic over the last minute ({requests, rps, errorRate, p99}) as one short line.
function trafficText(tr) {
  if (!tr || !tr.requests) return 'no traffic';
  const rps = tr.rps >= 10 ? tr.rps.toFixed(0) : tr.rps.toFixed(1);
  const err = tr.errorRate > 0 ? ` · ${(tr.errorRate * 100).toFixed(tr.errorRate < 0.1 ? 1 : 0)}% 5xx` : '';
  return `${rps}/s${err}`;
}

function edgeClass(e) {
  const tr = e.traffic;
  let c = 'edge';
  if (e.mtls) c += ' mtls';
  if (tr && tr.requests) c += tr.errorRate >= 0.01 ? ' failing' : ' busy';
  return c;
}

// Heavier edges carry more requests (1.5 to 6 px, logarithmic in the rate).
function edgeWidth(e) {
  const rps = e.traffic && e.traffic.requests ? e.traffic.rps : 0;
  return rps > 0 ? Math.min(6, 1.5 + Math.log10(1 + rps) * 1.5) : undefined;
}

// Workloads, listeners, routes and services as columns, traffic flowing left to right.
export function Topology() {
  const [t, err] = useApi('topology', 10000);
  if (err) return <ErrorBox error={err} />;
  if (!t) return <Loading />;
  const pos = {};
  const cols = COLUMNS.map((k) => t.nodes.filter((n) => n.kind === k));
  cols.forEach((col, ci) => col.forEach((n, ri) => { pos[n.id] = { x: 10 + ci * (W + GAPX), y: 40 + ri * (H + GAPY) }; }));
  const height = 60 + Math.max(1, ...cols.map((c) => c.length)) * (H + GAPY);
  const width = 20 + COLUMNS.length * (W + GAPX) - GAPX;
  return (
    <section aria-labelledby="topo-h">
      <h1 id="topo-h">Topology</h1>
      <p class="muted">Serving version {t.version}. Green dashed edges are protected by mesh mTLS; thicker edges carry more requests, red ones fail (1% or more 5xx). Traffic is this node's, over the last minute{t.measured ? '' : ' (not measured by this server)'}.</p>
      <div class="topology card">
        <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label="Topology graph">
          {COLUMNS.map((k, ci) => <text x={10 + ci * (W + GAPX)} y={20} class="col-title">{k === 'HTTPRoute' ? 'Routes' : k + 's'}</text>)}
          {t.edges.map((e) => {
            const a = pos[e.from], b = pos[e.to];
            if (!a || !b) return null;
            const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
            const w = edgeWidth(e);
            return <path d={`M${x1},${y1} C${x1 + GAPX / 2},${y1} ${x2 - GAPX / 2},${y2} ${x2},${y2}`} class={edgeClass(e)} style={w ? { strokeWidth: `${w}px` } : undefined}>
              <title>{e.from} → {e.to}{e.weight !== undefined ? ` (weight ${e.weight})` : ''}{e.mtls ? ' · mTLS' : ''} · {trafficText(e.traffic)}</title></path>;
          })}
          {t.nodes.map((n) => {
            const p = pos[n.id];
            if (!p) return null;
            let sub = n.kind === 'Listener' ? `${n.protocol} :${n.port}` : n.kind === 'Service' ? (n.direct ? 'direct response' : `${n.endpoints} endpoints${n.mesh ? ' · mesh' : ''}`) : n.namespace;
            if (n.traffic && n.traffic.requests) sub += ` · ${trafficText(n.traffic)}`;
            return <g class={'node ' + n.kind.toLowerCase()} transform={`translate(${p.x},${p.y})`}>
              <rect width={W} height={H} rx="6" />
              <text x="10" y="18" class="node-name">{n.name}</text>
              <text x="10" y="34" class="node-sub">{sub}</text>
            </g>;
          })}
        </svg>
      </div>
      <h2>Edges</h2>
      <div class="table-wrap"><table>
        <thead><tr><th scope="col">From</th><th scope="col">To</th><th scope="col">Weight</th><th scope="col">mTLS</th><th scope="col">Requests/s</th><th scope="col">5xx</th><th scope="col">p99</th></tr></thead>
        <tbody>{t.edges.map((e) => {
          const tr = e.traffic && e.traffic.requests ? e.traffic : null;
          return <tr><td>{e.from}</td><td>{e.to}</td><td>{e.weight ?? ''}</td><td>{e.mtls ? 'yes' : 'no'}</td>
            <td>{tr ? tr.rps.toFixed(1) : '—'}</td>
            <td>{tr ? `${(tr.errorRate * 100).toFixed(1)}%` : '—'}</td>
            <td>{tr && tr.p99 != null ? `${tr.p99.toFixed(1)} ms` : '—'}</td></tr>;
        })}</tbody>
      </table></div>
    </section>
  );
}
