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

const PALETTE = ['#1d4ed8', '#15803d', '#b45309', '#7c3aed', '#be123c', '#0e7490'];
const MAX_ROUTES = 6; // charted routes: the busiest of the last minute

// Polls /stats/live (per route and Service, over the last minute) and keeps a history of each
// route's rate, error rate and p50/p95/p99 for the per-route charts.
function useLive() {
  const [hist, setHist] = useState({ t: [], routes: {}, rows: [], services: [] });
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    let timer;
    const tick = async () => {
      try {
        const s = await get('stats/live');
        if (!live) return;
        setHist((h) => {
          const t = [...h.t, s.at / 1000].slice(-KEEP);
          const n = t.length;
          const routes = {};
          // A route by its name; by name and listener only when it is attached to several.
          const many = new Set(s.routes.filter((r, i) => s.routes.findIndex((o) => o.route === r.route) !== i).map((r) => r.route));
          const key = (r) => (many.has(r.route) ? `${r.route} (${r.listener})` : r.route);
          for (const r of s.routes) {
            const old = h.routes[key(r)] || {};
            const pad = (a) => {
              const v = (a || []).slice(-(n - 1));
              while (v.length < n - 1) v.unshift(null);
              return v;
            };
            routes[key(r)] = {
              rps: [...pad(old.rps), r.rps], err: [...pad(old.err), r.errorRate * 100],
              p50: [...pad(old.p50), r.p50], p95: [...pad(old.p95), r.p95], p99: [...pad(old.p99), r.p99],
              requests: r.requests,
            };
          }
          return { t, routes, rows: s.routes, services: s.services };
        });
        setError(null);
      } catch (e) { if (live) setError(e); }
      if (live) timer = setTimeout(tick, POLL_MS);
    };
    tick();
    return () => { live = false; clearTimeout(timer); };
  }, []);
  return [hist, error];
}

const fmtMs = (v) => (v === null || v === undefined ? '–' : v < 10 ? v.toFixed(2) : v.toFixed(0));

function RouteCharts({ hist }) {
  const names = Object.keys(hist.routes)
    .sort((a, b) => hist.routes[b].requests - hist.routes[a].requests).slice(0, MAX_ROUTES);
  if (!names.length) return <p class="muted small">No route has served a request yet.</p>;
  const key = names.join('|');
  const color = (i) => PALETTE[i % PALETTE.length];
  const one = (field) => [hist.t, ...names.map((n) => hist.routes[n][field])];
  const latency = [hist.t, ...names.flatMap((n) => ['p50', 'p95', 'p99'].map((q) => hist.routes[n][q]))];
  const latencySeries = names.flatMap((n, i) => [
    { label: `${n} p50`, color: color(i) }, { label: `${n} p95`, color: color(i), dash: [6, 3] },
    { label: `${n} p99`, color: color(i), dash: [2, 3] }]);
  return (
    <div class="charts">
      <Chart key={'rps' + key} id="chart-route-rps" title="Requests per second by route (last minute)" data={one('rps')}
        series={names.map((n, i) => ({ label: n, color: color(i) }))} />
      <Chart key={'err' + key} id="chart-route-errors" title="5xx share by route, % (last minute)" data={one('err')}
        series={names.map((n, i) => ({ label: n, color: color(i) }))} />
      <Chart key={'lat' + key} id="chart-route-latency" title="Latency by route, ms: p50 (solid) / p95 / p99 (dashed)" data={latency}
        series={latencySeries} legend={false} />
    </div>
  );
}

function Chart({ title, data, series, id, legend = true }) {
  const box = useRef();
  const plot = useRef();
  useEffect(() => {
    const width = Math.max(260, box.current.clientWidth - 8);
    plot.current = new uPlot({
      width, height: 180, title,
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.2)] } },
      axes: [{}, { size: 50 }],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, fill: s.fill, dash: s.dash }))],
      legend: { show: legend, live: false },
    }, [[], ...series.map(() => [])], box.current);
    const onResize = () => plot.current.setSize({ width: Math.max(260, box.current.clientWidth - 8), height: 180 });
    addEventListener('resize', onResize);
    return () => { removeEventListener('resize', onResize); plot.current.destroy(); };
  }, []);
  useEffect(() => { plot.current && plot.current.setData(data); }, [data]);
  const lastValue = data[1] && data[1].length ? data[1][data[1].length - 1] : null;
  return <figure class="chart card" id={id} data-points={data[0].length} data-last={lastValue ?? ''}><div ref={box} role="img" aria-label={title} /></figure>;
}

export function Overview() {
  const [ov, err] = useApi('overview', 5000);
  const [points, statsErr] = useRates();
  const [live, liveErr] = useLive();
  return (
    <section aria-labelledby="ov-h">
      <h1 id="ov-h">Overview</h1>
      <ErrorBox error={err || statsErr || liveErr} />
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
      <p class="muted small">Totals over all routes, from the server's counters (every 2 s).</p>
      <h2>Routes (last minute)</h2>
      <RouteCharts hist={live} />
      {live.rows.length > 0 && (
        <div class="table-wrap"><table id="live-routes">
          <thead><tr><th scope="col">Route</th><th scope="col">Listener</th><th scope="col">Service</th>
            <th scope="col">Requests</th><th scope="col">req/s</th><th scope="col">5xx</th>
            <th scope="col">p50 ms</th><th scope="col">p95 ms</th><th scope="col">p99 ms</th></tr></thead>
          <tbody>{live.rows.map((r) => (
            <tr data-route={r.route}><td>{r.route}</td><td>{r.listener}</td><td>{r.service}</td><td>{r.requests}</td>
              <td>{r.rps.toFixed(1)}</td><td>{(r.errorRate * 100).toFixed(1)}%</td>
              <td class="p50">{fmtMs(r.p50)}</td><td>{fmtMs(r.p95)}</td><td>{fmtMs(r.p99)}</td></tr>
          ))}</tbody>
        </table></div>
      )}
      <p class="muted small">Per route over the last minute (a sample of the server's histograms every 5 s; percentiles are interpolated within the histogram's buckets). /api/v1/stats/live has the same per Service.</p>
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
