import { useState } from 'preact/hooks';
import { get, post } from '../api.js';
import { ConfirmButton, DiffView, ErrorBox, Loading, Notice, useApi } from '../components.jsx';
import { fmtTime } from '../util.js';

export function History({ session }) {
  const [before, setBefore] = useState(0);
  const [h, err, reload] = useApi('versions?limit=25' + (before ? '&before=' + before : ''));
  const [diff, setDiff] = useState(null);
  const [outcome, setOutcome] = useState(null);
  const isAdmin = session.role === 'admin';
  const showDiff = async (from, to) => {
    try { const d = await get(`diff?from=${from}&to=${to}`); setDiff({ from, to, diff: d.diff }); } catch (e) { setOutcome({ error: e }); }
  };
  const rollback = async (to) => {
    setOutcome(null);
    try {
      const r = await post('rollback', { to, version: h.active });
      setOutcome({ text: r.changed ? `Rolled back to version ${to} as version ${r.version}.` : `Version ${to} has the same configuration as the active one: nothing to do.` });
      setBefore(0);
      reload();
    } catch (e) { setOutcome({ error: e }); }
  };
  return (
    <section aria-labelledby="hist-h">
      <h1 id="hist-h">History</h1>
      <ErrorBox error={err} />
      {outcome && (outcome.error ? <ErrorBox error={outcome.error} /> : <Notice kind="ok"><span id="rollback-result">{outcome.text}</span></Notice>)}
      {!h ? <Loading /> : (
        <div>
          <p>Active version <strong id="history-active">{h.active}</strong>; the server runs version <strong>{h.running || '—'}</strong>.</p>
          <div class="table-wrap"><table id="versions-table">
            <thead><tr><th scope="col">Version</th><th scope="col">Time</th><th scope="col">Author</th><th scope="col">Message</th><th scope="col">Resources</th><th /></tr></thead>
            <tbody>{h.items.map((v) => (
              <tr data-version={v.id}>
                <td>{v.id}{v.id === h.active && <span class="badge ok">active</span>}{v.refused && <span class="badge bad" title={v.refused}>refused</span>}</td>
                <td>{fmtTime(v.createdAt)}</td><td>{v.author}</td><td>{v.message}</td><td>{v.resources}</td>
                <td class="actions">
                  {v.id > 1 && <button aria-label={`Diff version ${v.id} against ${v.id - 1}`} onClick={() => showDiff(v.id - 1, v.id)}>Diff</button>}
                  {v.id !== h.active && <button aria-label={`Diff active against version ${v.id}`} onClick={() => showDiff(h.active, v.id)}>vs active</button>}
                  {isAdmin && v.id !== h.active && <ConfirmButton aria-label={`Roll back to version ${v.id}`} onConfirm={() => rollback(v.id)}>Roll back</ConfirmButton>}
                </td>
              </tr>
            ))}</tbody>
          </table></div>
          <div class="actions">
            {before !== 0 && <button onClick={() => setBefore(0)}>Newest</button>}
            {h.next && <button onClick={() => setBefore(h.next)}>Older</button>}
          </div>
        </div>
      )}
      {diff && <div class="card"><h2>Version {diff.from} → {diff.to}</h2><DiffView diff={diff.diff} /></div>}
      {!isAdmin && <p class="muted">Rolling back needs the admin role.</p>}
    </section>
  );
}
