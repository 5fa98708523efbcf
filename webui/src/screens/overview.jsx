import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { get } from '../api.js';
import { ErrorBox, Loading, Notice, useApi } from '../components.jsx';
import { fmtTime } from '../util.js';

const POLL_MS = 2000;
const KEEP = 150; // points: five minutes at one every two seconds

function sum(series, name, pred = () => true) {
  return series.filter((s) => s.name === name && pred(s.labels)).reduce((a, s) => a + s.value, 0);
}

// Polls /stats and turns the counters into per-second rates between two polls.
function useRates() {
  const [points, setPoints] = useState({ t: [], rps: [], errors: [], active: [] });
  const [error, setError] = useState(null);
  const last = useRef(null);
  useEffect(() => {
    let live = true;
    let timer;
    const tick = async () => {
      try {
        const s = await get('stats');
        const now = { at: s.at, rq: sum(s.series, 'gatehouse_downstream_rq_total'),
          err: sum(s.series, 'gatehouse_downstream_rs_total', (l) => l.code_class === '5xx'),
          active: sum(s.series, 'gatehouse_downstream_rq_active') };
        const prev = last.current;
        last.current = now;
        if (prev && live && now.at > prev.at) {
          const dt = (now.at - prev.at) / 1000;
          setPoints((p) => {
            const cut = (a, v) => [...a, v].slice(-KEEP);
            return { t: cut(p.t, now.at / 1000), rps: cut(p.rps, Math.max(0, (now.rq - prev.rq) / dt)),
              errors: cut(p.errors, Math.max(0, (now.err - prev.err) / dt)), active: cut(p.active, now.active) };
          });
        }
        setError(null);
      } catch (e) { if (live) setError(e); }
      if (live) timer = setTimeout(tick, POLL_MS);
    };
    tick();
    return () => { live = false; clearTimeout(timer); };
  }, []);
  return [points, error];
}

function Chart({ title, data, series, id }) {
  const box = useRef();
  const plot = useRef();
  useEffect(() => {
    const width = Math.max(260, box.current.clientWidth - 8);
    plot.current = new uPlot({
      width, height: 180, title,
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.2)] } },
      axes: [{}, { size: 50 }],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, fill: s.fill }))],
      legend: { show: true },
    }, [[], ...series.map(() => [])], box.current);
    const onResize = () => plot.current.setSize({ width: Math.max(260, box.current.clientWidth - 8), height: 180 });
    addEventListener('resize', onResize);
    return () => { removeEventListener('resize', onResize); plot.current.destroy(); };
  }, []);
  useEffect(() => { plot.current && plot.current.setData(data); }, [data]);
  const lastValue = data[1].length ? data[1][data[1].length - 1] : null;
  return <figure class="chart card" id={id} data-points={data[0].length} data-last={lastValue ?? ''}><div ref={box} role="img" aria-label={title} /></figure>;
}

export function Overview() {
  const [ov, err] = useApi('overview', 5000);
  const [points, statsErr] = useRates();
  return (
    <section aria-labelledby="ov-h">
      <h1 id="ov-h">Overview</h1>
      <ErrorBox error={err || statsErr} />
      {ov && ov.warnings.map((w) => <Notice kind="warn">{w}</Notice>)}
      {ov && ov.refused.map((r) => <Notice kind="error">Version {r.version} was refused by the server: {r.reason}</Notice>)}
      {!ov ? <Loading /> : (
        <div class="tiles">
          <div class="tile card"><span class="label">Active version</span><span class="value" id="active-version">{ov.activeVersion}</span>
            <small>{ov.activeAuthor} · {fmtTime(ov.activeAt)}</small></div>
          <div class="tile card"><span class="label">Serving version</span><span class="value">{ov.servingVersion}</span>
            <small>{ov.servingVersion === ov.activeVersion ? 'up to date' : 'differs from active'}</small></div>
          <div class="tile card"><span class="label">Routes</span><span class="value">{ov.counts.routes}</span></div>
          <div class="tile card"><span class="label">Services</span><span class="value">{ov.counts.services}</span></div>
          <div class="tile card"><span class="label">Policies</span><span class="value">{ov.counts.policies}</span></div>
        </div>
      )}
      <h2>Traffic (live)</h2>
      <div class="charts">
        <Chart id="chart-rps" title="Requests per second" data={[points.t, points.rps]} series={[{ label: 'req/s', color: '#1d4ed8', fill: 'rgba(29,78,216,0.08)' }]} />
        <Chart id="chart-errors" title="5xx responses per second" data={[points.t, points.errors]} series={[{ label: '5xx/s', color: '#b91c1c', fill: 'rgba(185,28,28,0.08)' }]} />
      </div>
      <p class="muted small">Totals over all routes, from the server's counters (every 2 s). Per-route and per-service rates and p50/p95/p99 latencies are not measured by this build yet; they will appear here when the server records them.</p>
      <h2>Listeners</h2>
      {ov && (
        <div class="table-wrap"><table>
          <thead><tr><th scope="col">Listener</th><th scope="col">Address</th><th scope="col">Protocol</th><th scope="col">State</th></tr></thead>
          <tbody>{ov.listeners.map((l) => (
            <tr><td>{l.namespace}/{l.name}</td><td><code>{l.address}</code></td><td>{l.protocol}</td><td><span class="badge ok">{l.state}</span></td></tr>
          ))}</tbody>
        </table></div>
      )}
    </section>
  );
}
