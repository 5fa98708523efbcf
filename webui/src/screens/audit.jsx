import { useState } from 'preact/hooks';
import { ErrorBox, Loading, Search, useApi } from '../components.jsx';
import { fmtTime } from '../util.js';

export function Audit() {
  const [pages, setPages] = useState([0]);
  const before = pages[pages.length - 1];
  const [a, err] = useApi('audit?limit=50' + (before ? '&before=' + before : ''));
  const [q, setQ] = useState('');
  const rows = a ? a.items.filter((e) => !q || JSON.stringify(e).toLowerCase().includes(q.toLowerCase())) : [];
  return (
    <section aria-labelledby="audit-h">
      <h1 id="audit-h">Audit log</h1>
      <p class="muted">Every change: configuration versions, users, API tokens and join tokens. Append-only.</p>
      <ErrorBox error={err} />
      <Search value={q} onInput={setQ} label="Filter this page" />
      {!a ? <Loading /> : (
        <div class="table-wrap"><table id="audit-table">
          <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Who</th><th scope="col">From</th><th scope="col">Action</th><th scope="col">Versions</th><th scope="col">Summary</th></tr></thead>
          <tbody>{rows.map((e) => (
            <tr><td>{e.id}</td><td>{fmtTime(e.at)}</td><td>{e.actor}</td><td>{e.source}</td><td>{e.action}</td>
              <td>{e.versionBefore === e.versionAfter ? e.versionAfter : `${e.versionBefore} → ${e.versionAfter}`}</td><td>{e.summary}</td></tr>
          ))}</tbody>
        </table></div>
      )}
      <div class="actions">
        {pages.length > 1 && <button onClick={() => setPages(pages.slice(0, -1))}>Newer</button>}
        {a?.next && <button onClick={() => setPages([...pages, a.next])}>Older</button>}
      </div>
    </section>
  );
}
