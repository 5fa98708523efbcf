// Lua scripts (spec/admin.md screen 5): the LuaScript resources with their attach points and
// order, per-script executions and errors from the server's counters, and an editor whose live
// validation is the server's (a syntax error is shown with the script's line, as
// `gatehouse validate` reports it).
import { useState } from 'preact/hooks';
import { ErrorBox, Field, Loading, Search, useApi } from '../components.jsx';
import { ResourceEditor } from '../editor.jsx';
import { diagsFor } from '../util.js';

const split = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

// "Listener/public, HTTPRoute/api" <-> [{kind, name}]
const attachText = (list) => (list || []).map((a) => `${a.kind}/${a.name}`).join(', ');
const parseAttach = (text) => split(text).map((t) => {
  const [kind, name] = t.includes('/') ? t.split('/', 2) : ['Listener', t];
  return { kind, name };
});

function ScriptForm({ doc, setDoc, diags, isNew, disabled }) {
  const spec = doc.spec || (doc.spec = {});
  const update = (fn) => { const d = structuredClone(doc); fn(d); setDoc(d); };
  const [attach, setAttach] = useState(attachText(spec.attachTo));
  const inline = spec.source && spec.source.inline !== undefined;
  return (
    <div class="form">
      {isNew && <div class="row">
        <Field label="Name" id="l-name" diags={diagsFor(diags, 'metadata.name')}>
          <input id="l-name" value={doc.metadata.name} disabled={disabled} onInput={(e) => update((d) => { d.metadata.name = e.currentTarget.value; })} />
        </Field>
        <Field label="Namespace" id="l-ns" diags={diagsFor(diags, 'metadata.namespace')}>
          <input id="l-ns" value={doc.metadata.namespace || 'default'} disabled={disabled} onInput={(e) => update((d) => { d.metadata.namespace = e.currentTarget.value; })} />
        </Field>
      </div>}
      <div class="row">
        <Field label="Attached to" id="l-attach" hint="Comma-separated Listener/NAME or HTTPRoute/NAME" diags={diagsFor(diags, 'spec.attachTo')}>
          <input id="l-attach" value={attach} disabled={disabled} onInput={(e) => {
            const v = e.currentTarget.value;
            setAttach(v);
            update((d) => { d.spec.attachTo = parseAttach(v); });
          }} />
        </Field>
        <Field label="Order" id="l-order" hint="Lower runs first" diags={diagsFor(diags, 'spec.order')}>
          <input id="l-order" value={spec.order ?? 0} disabled={disabled} onInput={(e) => update((d) => { const v = e.currentTarget.value; d.spec.order = /^-?\d+$/.test(v) ? Number(v) : v; })} />
        </Field>
      </div>
      {inline ? (
        <Field label="Source (Lua)" id="l-source" hint="envoy_on_request(handle) and envoy_on_response(handle); see docs/lua.md" diags={diagsFor(diags, 'spec.source')}>
          <textarea id="l-source" class="code" rows="16" spellcheck={false} value={spec.source.inline} disabled={disabled}
            onInput={(e) => update((d) => { d.spec.source.inline = e.currentTarget.value; })} />
        </Field>
      ) : <p class="muted">This script's source came from a file when it was applied; edit it as YAML.</p>}
    </div>
  );
}

const template = { apiVersion: 'gatehouse.dev/v1', kind: 'LuaScript', metadata: { name: '', namespace: 'default' },
  spec: { source: { inline: 'function envoy_on_request(handle)\n  handle:headers():add("x-hello", "lua")\nend\n' }, attachTo: [{ kind: 'Listener', name: 'default' }] } };

// Per-script counters from /api/v1/stats (the label is the script's namespace/name).
function countersByScript(stats) {
  const out = {};
  for (const s of (stats && stats.series) || []) {
    if (!s.labels || !s.labels.script) continue;
    const c = out[s.labels.script] || (out[s.labels.script] = { executions: 0, errors: 0 });
    if (s.name === 'gatehouse_lua_executions_total') c.executions += s.value;
    else if (s.name === 'gatehouse_lua_errors_total') c.errors += s.value;
  }
  return out;
}

export function Scripts({ session }) {
  const [scripts, err, reload] = useApi('resources?kind=LuaScript');
  const [stats] = useApi('stats', 5000);
  const [q, setQ] = useState('');
  const [editing, setEditing] = useState(null);
  const canEdit = session.role === 'editor' || session.role === 'admin';
  const counters = countersByScript(stats);
  const match = (r) => !q || JSON.stringify(r).toLowerCase().includes(q.toLowerCase());
  const close = () => { setEditing(null); reload(); };
  return (
    <section aria-labelledby="scripts-h">
      <h1 id="scripts-h">Lua scripts</h1>
      <ErrorBox error={err} />
      <div class="toolbar">
        <Search value={q} onInput={setQ} label="Search scripts" />
        {canEdit && <button onClick={() => setEditing({ kind: 'LuaScript' })}>New script</button>}
      </div>
      {editing && <ResourceEditor key={JSON.stringify(editing)} {...editing} canEdit={canEdit} onClose={close} Form={ScriptForm} template={template} />}
      {!scripts ? <Loading /> : scripts.items.length === 0 ? (
        <div class="empty card"><p>No Lua scripts in the configuration. A script attaches to Listeners or HTTPRoutes and runs Envoy-style <code>envoy_on_request</code>/<code>envoy_on_response</code> hooks; see <code>docs/lua.md</code>.</p></div>
      ) : (
        <div class="table-wrap"><table id="scripts-table">
          <thead><tr><th scope="col">Script</th><th scope="col">Attached to</th><th scope="col">Order</th><th scope="col">Executions</th><th scope="col">Errors</th><th /></tr></thead>
          <tbody>{scripts.items.filter(match).map((r) => {
            const c = counters[`${r.namespace}/${r.name}`] || counters[r.name];
            const spec = r.document.spec || {};
            return <tr><td>{r.namespace}/{r.name}</td><td>{attachText(spec.attachTo)}</td><td>{spec.order ?? 0}</td>
              <td>{c ? c.executions : 0}</td>
              <td>{c && c.errors ? <span class="badge bad">{c.errors}</span> : 0}</td>
              <td><button aria-label={`${canEdit ? 'Edit' : 'View'} script ${r.namespace}/${r.name}`} onClick={() => setEditing({ kind: 'LuaScript', ns: r.namespace, name: r.name })}>{canEdit ? 'Edit' : 'View'}</button></td></tr>;
          })}</tbody>
        </table></div>
      )}
    </section>
  );
}
