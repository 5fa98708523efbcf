import { ErrorBox, Loading, useApi } from '../components.jsx';

const COLUMNS = ['Listener', 'HTTPRoute', 'Service', 'Workload'];
const W = 200, H = 44, GAPX = 90, GAPY = 18;

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
      <p class="muted">Serving version {t.version}. Green dashed edges are protected by mesh mTLS. {t.missing}.</p>
      <div class="topology card">
        <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label="Topology graph">
          {COLUMNS.map((k, ci) => <text x={10 + ci * (W + GAPX)} y={20} class="col-title">{k === 'HTTPRoute' ? 'Routes' : k + 's'}</text>)}
          {t.edges.map((e) => {
            const a = pos[e.from], b = pos[e.to];
            if (!a || !b) return null;
            const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
            return <path d={`M${x1},${y1} C${x1 + GAPX / 2},${y1} ${x2 - GAPX / 2},${y2} ${x2},${y2}`} class={'edge' + (e.mtls ? ' mtls' : '')}>
              <title>{e.from} → {e.to}{e.weight !== undefined ? ` (weight ${e.weight})` : ''}{e.mtls ? ' · mTLS' : ''}</title></path>;
          })}
          {t.nodes.map((n) => {
            const p = pos[n.id];
            if (!p) return null;
            const sub = n.kind === 'Listener' ? `${n.protocol} :${n.port}` : n.kind === 'Service' ? (n.direct ? 'direct response' : `${n.endpoints} endpoints${n.mesh ? ' · mesh' : ''}`) : n.namespace;
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
        <thead><tr><th scope="col">From</th><th scope="col">To</th><th scope="col">Weight</th><th scope="col">mTLS</th></tr></thead>
        <tbody>{t.edges.map((e) => <tr><td>{e.from}</td><td>{e.to}</td><td>{e.weight ?? ''}</td><td>{e.mtls ? 'yes' : 'no'}</td></tr>)}</tbody>
      </table></div>
    </section>
  );
}
