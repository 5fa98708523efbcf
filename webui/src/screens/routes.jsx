import { useState } from 'preact/hooks';
import { ErrorBox, Field, Loading, Search, useApi } from '../components.jsx';
import { ResourceEditor } from '../editor.jsx';
import { diagsFor } from '../util.js';

const split = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

function RouteForm({ doc, setDoc, diags, isNew, disabled }) {
  const spec = doc.spec || (doc.spec = {});
  const rules = spec.rules || (spec.rules = [{}]);
  const update = (fn) => { const d = structuredClone(doc); fn(d); setDoc(d); };
  const [hostText, setHostText] = useState((spec.hostnames || []).join(', '));
  const [parentText, setParentText] = useState((spec.parentRefs || []).map((p) => p.name).join(', '));
  return (
    <div class="form">
      {isNew && <div class="row">
        <Field label="Name" id="f-name" diags={diagsFor(diags, 'metadata.name')}>
          <input id="f-name" value={doc.metadata.name} disabled={disabled} onInput={(e) => update((d) => { d.metadata.name = e.currentTarget.value; })} />
        </Field>
        <Field label="Namespace" id="f-ns" diags={diagsFor(diags, 'metadata.namespace')}>
          <input id="f-ns" value={doc.metadata.namespace || 'default'} disabled={disabled} onInput={(e) => update((d) => { d.metadata.namespace = e.currentTarget.value; })} />
        </Field>
      </div>}
      <Field label="Hostnames" id="f-hostnames" hint="Comma-separated; empty matches every host" diags={diagsFor(diags, 'spec.hostnames')}>
        <input id="f-hostnames" value={hostText} disabled={disabled} onInput={(e) => {
          const v = e.currentTarget.value;
          setHostText(v);
          update((d) => { const h = split(v); if (h.length) d.spec.hostnames = h; else delete d.spec.hostnames; });
        }} />
      </Field>
      <Field label="Listeners (parentRefs)" id="f-parents" hint="Comma-separated Listener names" diags={diagsFor(diags, 'spec.parentRefs')}>
        <input id="f-parents" value={parentText} disabled={disabled} onInput={(e) => {
          const v = e.currentTarget.value;
          setParentText(v);
          update((d) => { d.spec.parentRefs = split(v).map((name) => ({ name })); });
        }} />
      </Field>
      {rules.map((rule, ri) => {
        const m = (rule.matches && rule.matches[0]) || {};
        const path = m.path || {};
        return (
          <fieldset class="rule">
            <legend>Rule {ri + 1}</legend>
            <div class="row">
              <Field label="Path match" id={`f-r${ri}-ptype`} diags={diagsFor(diags, `spec.rules[${ri}].matches`)}>
                <select id={`f-r${ri}-ptype`} value={path.type || 'PathPrefix'} disabled={disabled} onChange={(e) => update((d) => {
                  const r = d.spec.rules[ri];
                  r.matches = r.matches || [{}];
                  r.matches[0].path = { ...(r.matches[0].path || { value: '/' }), type: e.currentTarget.value };
                })}>
                  <option>PathPrefix</option><option>Exact</option><option>RegularExpression</option>
                </select>
              </Field>
              <Field label="Path" id={`f-r${ri}-path`}>
                <input id={`f-r${ri}-path`} value={path.value ?? '/'} disabled={disabled} onInput={(e) => update((d) => {
                  const r = d.spec.rules[ri];
                  r.matches = r.matches || [{}];
                  r.matches[0].path = { type: (r.matches[0].path || {}).type || 'PathPrefix', value: e.currentTarget.value };
                })} />
              </Field>
              <Field label="Request timeout" id={`f-r${ri}-timeout`} hint="e.g. 10s; empty: none" diags={diagsFor(diags, `spec.rules[${ri}].timeouts`)}>
                <input id={`f-r${ri}-timeout`} value={(rule.timeouts || {}).request || ''} disabled={disabled} onInput={(e) => update((d) => {
                  const v = e.currentTarget.value.trim();
                  if (v) d.spec.rules[ri].timeouts = { ...(d.spec.rules[ri].timeouts || {}), request: v };
                  else if (d.spec.rules[ri].timeouts) { delete d.spec.rules[ri].timeouts.request; if (!Object.keys(d.spec.rules[ri].timeouts).length) delete d.spec.rules[ri].timeouts; }
                })} />
              </Field>
            </div>
            <table class="backends">
              <thead><tr><th scope="col">Backend service</th><th scope="col">Weight</th><th /></tr></thead>
              <tbody>
                {(rule.backendRefs || []).map((b, bi) => (
                  <tr>
                    <td><Field label={`Service of backend ${bi + 1}`} id={`f-r${ri}-b${bi}-name`} diags={diagsFor(diags, `spec.rules[${ri}].backendRefs[${bi}]`).filter((d) => !d.path.endsWith('.weight'))}>
                      <input id={`f-r${ri}-b${bi}-name`} value={b.name} disabled={disabled} onInput={(e) => update((d) => { d.spec.rules[ri].backendRefs[bi].name = e.currentTarget.value; })} />
                    </Field></td>
                    <td><Field label={`Weight of backend ${bi + 1}`} id={`f-r${ri}-b${bi}-weight`} diags={diagsFor(diags, `spec.rules[${ri}].backendRefs[${bi}].weight`)}>
                      <input id={`f-r${ri}-b${bi}-weight`} inputMode="numeric" value={b.weight ?? 1} disabled={disabled} onInput={(e) => update((d) => {
                        const v = e.currentTarget.value.trim();
                        d.spec.rules[ri].backendRefs[bi].weight = /^-?\d+$/.test(v) ? Number(v) : v;
                      })} />
                    </Field></td>
                    <td>{!disabled && <button aria-label={`Remove backend ${bi + 1}`} onClick={() => update((d) => { d.spec.rules[ri].backendRefs.splice(bi, 1); })}>Remove</button>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {!disabled && <button onClick={() => update((d) => { d.spec.rules[ri].backendRefs = [...(d.spec.rules[ri].backendRefs || []), { name: '', weight: 1 }]; })}>Add backend</button>}
          </fieldset>
        );
      })}
    </div>
  );
}

function ServiceForm({ doc, setDoc, diags, isNew, disabled }) {
  const spec = doc.spec || {};
  const update = (fn) => { const d = structuredClone(doc); fn(d); setDoc(d); };
  const direct = !!spec.directResponse;
  return (
    <div class="form">
      {isNew && <div class="row">
        <Field label="Name" id="s-name" diags={diagsFor(diags, 'metadata.name')}>
          <input id="s-name" value={doc.metadata.name} disabled={disabled} onInput={(e) => update((d) => { d.metadata.name = e.currentTarget.value; })} />
        </Field>
      </div>}
      {direct ? (
        <div class="row">
          <Field label="Status" id="s-status" diags={diagsFor(diags, 'spec.directResponse.status')}>
            <input id="s-status" value={spec.directResponse.status ?? 200} disabled={disabled} onInput={(e) => update((d) => { const v = e.currentTarget.value; d.spec.directResponse.status = /^\d+$/.test(v) ? Number(v) : v; })} />
          </Field>
          <Field label="Body" id="s-body" diags={diagsFor(diags, 'spec.directResponse.body')}>
            <textarea id="s-body" rows={4} value={spec.directResponse.body || ''} disabled={disabled} onInput={(e) => update((d) => { d.spec.directResponse.body = e.currentTarget.value; })} />
          </Field>
        </div>
      ) : (
        <table class="backends">
          <thead><tr><th scope="col">Address</th><th scope="col">Port</th><th scope="col">Weight</th><th /></tr></thead>
          <tbody>{(spec.endpoints || []).map((ep, i) => (
            <tr>
              <td><Field label={`Address of endpoint ${i + 1}`} id={`s-e${i}-addr`} diags={diagsFor(diags, `spec.endpoints[${i}].address`)}>
                <input id={`s-e${i}-addr`} value={ep.address} disabled={disabled} onInput={(e) => update((d) => { d.spec.endpoints[i].address = e.currentTarget.value; })} /></Field></td>
              <td><Field label={`Port of endpoint ${i + 1}`} id={`s-e${i}-port`} diags={diagsFor(diags, `spec.endpoints[${i}].port`)}>
                <input id={`s-e${i}-port`} value={ep.port} disabled={disabled} onInput={(e) => update((d) => { const v = e.currentTarget.value; d.spec.endpoints[i].port = /^\d+$/.test(v) ? Number(v) : v; })} /></Field></td>
              <td><Field label={`Weight of endpoint ${i + 1}`} id={`s-e${i}-weight`} diags={diagsFor(diags, `spec.endpoints[${i}].weight`)}>
                <input id={`s-e${i}-weight`} value={ep.weight ?? 1} disabled={disabled} onInput={(e) => update((d) => { const v = e.currentTarget.value; d.spec.endpoints[i].weight = /^-?\d+$/.test(v) ? Number(v) : v; })} /></Field></td>
              <td>{!disabled && <button onClick={() => update((d) => { d.spec.endpoints.splice(i, 1); })}>Remove</button>}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
      {!direct && !disabled && <button onClick={() => update((d) => { d.spec.endpoints = [...(d.spec.endpoints || []), { address: '127.0.0.1', port: 8000 }]; })}>Add endpoint</button>}
      <p class="muted small">Endpoint health (active checks: <code>spec.healthCheck</code>) shows in the Services table; outlier ejection is decided per worker and counted in <code>gatehouse_upstream_outlier_ejections_total</code>.</p>
    </div>
  );
}

const routeTemplate = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: '', namespace: 'default' },
  spec: { parentRefs: [{ name: 'default' }], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: '', weight: 1 }] }] } };
const serviceTemplate = { apiVersion: 'gatehouse.dev/v1', kind: 'Service', metadata: { name: '', namespace: 'default' },
  spec: { endpoints: [{ address: '127.0.0.1', port: 8000 }] } };

function describeRoute(doc) {
  const s = doc.spec || {};
  const backends = (s.rules || []).flatMap((r) => (r.backendRefs || []).map((b) => `${b.name}${b.weight !== undefined ? ' (' + b.weight + ')' : ''}`));
  return { hosts: (s.hostnames || ['*']).join(', '), backends: backends.join(', '), listeners: (s.parentRefs || []).map((p) => p.name).join(', ') };
}

function describeService(doc) {
  const s = doc.spec || {};
  if (s.directResponse) return `direct response ${s.directResponse.status ?? 200}`;
  return (s.endpoints || []).map((e) => `${e.address}:${e.port}`).join(', ') + (s.mesh ? ' · mesh' : '');
}

// Endpoint health of a Service as /api/v1/clusters reports it: what the node's active health
// checks last decided ("2 of 3 healthy"), or that the Service has none.
function healthCell(cluster) {
  if (!cluster) return <span class="muted">—</span>;
  if (cluster.direct) return <span class="muted">direct response</span>;
  const eps = cluster.endpoints || [];
  if (!cluster.healthCheck) return <span class="muted">not checked</span>;
  const healthy = eps.filter((e) => e.health === 'healthy').length;
  const down = eps.filter((e) => e.health === 'unhealthy').map((e) => e.address);
  return <span title={down.length ? `unhealthy: ${down.join(', ')}` : 'every endpoint passes its checks'}
    class={'badge ' + (healthy === eps.length ? 'ok' : healthy === 0 ? 'bad' : 'warn')}>{healthy} of {eps.length} healthy</span>;
}

export function Routes({ session }) {
  const [routes, err1, reload1] = useApi('resources?kind=HTTPRoute');
  const [services, err2, reload2] = useApi('resources?kind=Service');
  const [clusters] = useApi('clusters', 5000);
  const clusterOf = (r) => ((clusters && clusters.services) || []).find((c) => c.name === `${r.namespace}/${r.name}`);
  const [q, setQ] = useState('');
  const [editing, setEditing] = useState(null);
  const canEdit = session.role === 'editor' || session.role === 'admin';
  const match = (r) => !q || JSON.stringify(r).toLowerCase().includes(q.toLowerCase());
  const close = () => { setEditing(null); reload1(); reload2(); };
  return (
    <section aria-labelledby="routes-h">
      <h1 id="routes-h">Routes and services</h1>
      <ErrorBox error={err1 || err2} />
      <div class="toolbar">
        <Search value={q} onInput={setQ} label="Search routes and services" />
        {canEdit && <button onClick={() => setEditing({ kind: 'HTTPRoute' })}>New route</button>}
        {canEdit && <button onClick={() => setEditing({ kind: 'Service' })}>New service</button>}
      </div>
      {editing && <ResourceEditor key={JSON.stringify(editing)} {...editing} canEdit={canEdit} onClose={close}
        Form={editing.kind === 'HTTPRoute' ? RouteForm : ServiceForm} template={editing.kind === 'HTTPRoute' ? routeTemplate : serviceTemplate} />}
      <h2>Routes</h2>
      {!routes ? <Loading /> : (
        <div class="table-wrap"><table id="routes-table">
          <thead><tr><th scope="col">Route</th><th scope="col">Hostnames</th><th scope="col">Listeners</th><th scope="col">Backends (weight)</th><th /></tr></thead>
          <tbody>{routes.items.filter(match).map((r) => {
            const d = describeRoute(r.document);
            return <tr><td>{r.namespace}/{r.name}</td><td>{d.hosts}</td><td>{d.listeners}</td><td>{d.backends}</td>
              <td><button aria-label={`${canEdit ? 'Edit' : 'View'} route ${r.namespace}/${r.name}`} onClick={() => setEditing({ kind: 'HTTPRoute', ns: r.namespace, name: r.name })}>{canEdit ? 'Edit' : 'View'}</button></td></tr>;
          })}</tbody>
        </table></div>
      )}
      <h2>Services</h2>
      {!services ? <Loading /> : (
        <div class="table-wrap"><table id="services-table">
          <thead><tr><th scope="col">Service</th><th scope="col">Endpoints</th><th scope="col">Health</th><th /></tr></thead>
          <tbody>{services.items.filter(match).map((r) => (
            <tr><td>{r.namespace}/{r.name}</td><td>{describeService(r.document)}</td><td>{healthCell(clusterOf(r))}</td>
              <td><button aria-label={`${canEdit ? 'Edit' : 'View'} service ${r.namespace}/${r.name}`} onClick={() => setEditing({ kind: 'Service', ns: r.namespace, name: r.name })}>{canEdit ? 'Edit' : 'View'}</button></td></tr>
          ))}</tbody>
        </table></div>
      )}
    </section>
  );
}
