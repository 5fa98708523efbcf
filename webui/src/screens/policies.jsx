import { useEffect, useState } from 'preact/hooks';
import { get, post } from '../api.js';
import { DiffView, ErrorBox, Field, Loading, Notice, useApi } from '../components.jsx';
import { useValidation } from '../editor.jsx';

const template = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: allow-frontend
  namespace: default
spec:
  action: ALLOW
  rules:
    - from:
        - source:
            principals: ["cluster.local/ns/default/sa/frontend"]
      to:
        - operation:
            methods: ["GET"]
            paths: ["/api/*"]
`;

function Explain({ draft }) {
  const [req, setReq] = useState({ method: 'GET', path: '/', host: '', principal: '', targetKind: '', target: '', namespace: 'default' });
  const [useDraft, setUseDraft] = useState(true);
  const [result, setResult] = useState(null);
  const set = (k) => (e) => setReq({ ...req, [k]: e.currentTarget.value });
  const run = async (e) => {
    e.preventDefault();
    const body = { ...req };
    if (useDraft && draft) body.yaml = draft;
    try { setResult({ ok: true, body: await post('authz/explain', body) }); } catch (err) { setResult({ ok: false, error: err }); }
  };
  return (
    <form class="card" onSubmit={run} aria-label="Test a request">
      <h2>Test a request</h2>
      <p class="muted small">Asks the authorization engine what it would decide, and why. Target: a Workload (mesh inbound) or an edge Listener; empty picks the only Workload, else the first edge Listener.</p>
      <div class="row">
        <Field label="Target kind" id="x-kind"><select id="x-kind" value={req.targetKind} onChange={set('targetKind')}><option value="">auto</option><option>Workload</option><option>Listener</option></select></Field>
        <Field label="Target name" id="x-target"><input id="x-target" value={req.target} onInput={set('target')} /></Field>
        <Field label="Namespace" id="x-ns"><input id="x-ns" value={req.namespace} onInput={set('namespace')} /></Field>
      </div>
      <div class="row">
        <Field label="Method" id="x-method"><input id="x-method" value={req.method} onInput={set('method')} /></Field>
        <Field label="Path" id="x-path"><input id="x-path" value={req.path} onInput={set('path')} /></Field>
        <Field label="Host" id="x-host"><input id="x-host" value={req.host} onInput={set('host')} /></Field>
        <Field label="Peer principal (SPIFFE ID)" id="x-principal"><input id="x-principal" value={req.principal} onInput={set('principal')} /></Field>
      </div>
      {draft && <label class="check"><input type="checkbox" checked={useDraft} onChange={(e) => setUseDraft(e.currentTarget.checked)} /> with the policy being edited (not saved)</label>}
      <div class="actions"><button type="submit">Explain</button></div>
      {result && (result.ok
        ? <Notice kind={result.body.allow ? 'ok' : 'error'}><strong>{result.body.allow ? 'Allowed' : 'Denied'}</strong> ({result.body.target}{result.body.draft ? ', with the draft' : ''}): <span id="explain-result">{result.body.explain}</span>
            <br /><small>Policies that apply: {result.body.policies.length ? result.body.policies.join(', ') : 'none'}</small></Notice>
        : <ErrorBox error={result.error} />)}
    </form>
  );
}

export function Policies({ session }) {
  const [list, err, reload] = useApi('resources?kind=AuthorizationPolicy');
  const [selected, setSelected] = useState(null);
  const [yaml, setYaml] = useState('');
  const [version, setVersion] = useState(0);
  const [diff, setDiff] = useState(null);
  const [outcome, setOutcome] = useState(null);
  const canEdit = session.role === 'editor' || session.role === 'admin';
  const validation = useValidation(selected ? { yaml } : null, !!selected);

  const open = async (p) => {
    setDiff(null);
    setOutcome(null);
    if (!p) {
      const r = await get('resources?kind=AuthorizationPolicy');
      setVersion(r.version);
      setYaml(template);
      setSelected({ isNew: true });
      return;
    }
    const r = await get(`resources/AuthorizationPolicy/${encodeURIComponent(p.namespace)}/${encodeURIComponent(p.name)}`);
    setVersion(r.version);
    setYaml(r.yaml);
    setSelected(p);
  };
  useEffect(() => { if (list && list.items.length && !selected) open(list.items[0]).catch(() => {}); }, [list]);

  const save = async (dryRun) => {
    setOutcome(null);
    try {
      const r = await post('resources', { yaml, version, dryRun });
      if (dryRun) setDiff(r.diff);
      else { setOutcome({ ok: true, text: `Saved as version ${r.version}.` }); setVersion(r.version); reload(); }
    } catch (e) { setOutcome({ ok: false, error: e }); }
  };

  // Per workload: which policies select it (by namespace; label selectors are shown as written).
  return (
    <section aria-labelledby="pol-h">
      <h1 id="pol-h">Policies</h1>
      <ErrorBox error={err} />
      <div class="split">
        <div class="card list">
          <h2>AuthorizationPolicies</h2>
          {!list ? <Loading /> : list.items.length === 0 ? <p class="muted">No AuthorizationPolicy yet: every request is allowed (Istio's rule when none applies).</p> : (
            <ul class="plain">{list.items.map((p) => (
              <li><button class={'link' + (selected && selected.name === p.name && selected.namespace === p.namespace ? ' current' : '')} onClick={() => open(p)}>
                {p.namespace}/{p.name} <span class="badge">{(p.document.spec || {}).action || 'ALLOW'}</span>
                <small class="muted"> {p.document.spec?.selector ? 'selector ' + JSON.stringify(p.document.spec.selector.matchLabels || {}) : p.document.spec?.targetRefs || p.document.spec?.targetRef ? 'edge listeners' : 'whole namespace'}</small>
              </button></li>
            ))}</ul>
          )}
          {canEdit && <button onClick={() => open(null)}>New policy</button>}
        </div>
        <div class="card grow">
          {!selected ? <p class="muted">Select a policy, or create one.</p> : (
            <div>
              <div class="field">
                <label for="policy-editor">{selected.isNew ? 'New policy' : `${selected.namespace}/${selected.name}`} (YAML), based on version {version}</label>
                <textarea id="policy-editor" class="code" rows={18} spellcheck={false} value={yaml} disabled={!canEdit} onInput={(e) => setYaml(e.currentTarget.value)} />
              </div>
              <div aria-live="polite">
                {validation && (validation.valid ? <span class="badge ok">valid</span> : <span class="badge bad">{validation.diagnostics.length} problem(s)</span>)}
                {validation && validation.diagnostics.map((d) => <div class="field-error">{d.text}</div>)}
              </div>
              {diff && <div><h3>Dry run</h3><DiffView diff={diff} /></div>}
              {outcome && (outcome.ok ? <Notice kind="ok">{outcome.text}</Notice> : <ErrorBox error={outcome.error} />)}
              <div class="actions">
                {canEdit && <button onClick={() => save(true)}>Dry run (diff)</button>}
                {canEdit && <button class="primary" onClick={() => save(false)}>Save</button>}
              </div>
            </div>
          )}
        </div>
      </div>
      <Explain draft={selected ? yaml : ''} />
    </section>
  );
}
