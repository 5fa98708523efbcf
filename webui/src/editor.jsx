// Editing one resource: a form for the common fields or the whole document as YAML, live
// validation against the server (the same checks `gatehouse validate` and apply make; the
// messages are shown at the field they name), a dry-run diff, and saving as a new version
// based on the version that was loaded (409: someone else changed it first).
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, post, put } from './api.js';
import { DiffView, ErrorBox, Loading, Notice } from './components.jsx';

export function useValidation(body, enabled = true) {
  const [result, setResult] = useState(null);
  const seq = useRef(0);
  useEffect(() => {
    if (!enabled || !body) return undefined;
    const n = ++seq.current;
    const t = setTimeout(() => {
      post('validate', body).then((r) => { if (n === seq.current) setResult(r); })
        .catch((e) => { if (n === seq.current) setResult({ valid: false, diagnostics: [{ path: '', message: e.message, text: e.message }] }); });
    }, 350);
    return () => clearTimeout(t);
  }, [JSON.stringify(body), enabled]);
  return result;
}

export function ResourceEditor({ kind, ns, name, template, Form, onClose, canEdit }) {
  const isNew = !name;
  const [loaded, setLoaded] = useState(null);
  const [doc, setDoc] = useState(null);
  const [yaml, setYaml] = useState('');
  const [mode, setMode] = useState('form');
  const [saveResult, setSaveResult] = useState(null);
  const [saveError, setSaveError] = useState(null);
  const [dry, setDry] = useState(null);
  const [busy, setBusy] = useState(false);

  const load = async () => {
    setSaveError(null);
    if (isNew) {
      const r = await get('resources?kind=' + kind);
      setLoaded({ version: r.version });
      setDoc(structuredClone(template));
      setYaml('');
      return;
    }
    const r = await get(`resources/${kind}/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`);
    setLoaded(r);
    setDoc(r.document);
    setYaml(r.yaml);
  };
  useEffect(() => { load().catch(setSaveError); }, [kind, ns, name]);

  const body = mode === 'form' ? (doc ? { document: doc } : null) : { yaml };
  const validation = useValidation(body, !!doc && canEdit);
  const diags = saveError?.body?.diagnostics || validation?.diagnostics || [];

  const save = async (dryRun) => {
    setBusy(true);
    setSaveError(null);
    setSaveResult(null);
    setDry(null);
    try {
      const payload = { ...body, version: loaded.version, dryRun };
      const r = isNew ? await post('resources', payload)
        : await put(`resources/${kind}/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`, payload);
      if (dryRun) setDry(r.diff);
      else { setSaveResult(r); setLoaded({ ...loaded, version: r.version }); }
    } catch (e) {
      setSaveError(e);
    } finally {
      setBusy(false);
    }
  };

  if (!doc) return saveError ? <ErrorBox error={saveError} /> : <Loading />;
  const title = isNew ? `New ${kind}` : `${kind} ${ns}/${name}`;
  return (
    <div class="editor card" aria-label={'Edit ' + title}>
      <div class="editor-head">
        <h2>{title}</h2>
        <span class="muted">based on version {loaded.version}</span>
        <div class="tabs" role="tablist">
          <button role="tab" aria-selected={mode === 'form'} onClick={() => setMode('form')}>Form</button>
          <button role="tab" aria-selected={mode === 'yaml'} onClick={() => {
            if (mode !== 'yaml' && doc) post('validate', { document: doc }).catch(() => {});
            setMode('yaml');
          }}>YAML</button>
        </div>
      </div>
      {mode === 'form'
        ? <Form doc={doc} setDoc={setDoc} diags={diags} isNew={isNew} disabled={!canEdit} />
        : <div class="field"><label for="yaml-editor">Document (YAML or JSON)</label>
            <textarea id="yaml-editor" class="code" rows={18} spellcheck={false} value={yaml || JSON.stringify(doc, null, 2)} onInput={(e) => setYaml(e.currentTarget.value)} disabled={!canEdit} /></div>}
      <div class="validation" aria-live="polite">
        {validation && (validation.valid
          ? <span class="badge ok" id="validation-state">valid</span>
          : <span class="badge bad" id="validation-state">{diags.length} problem{diags.length === 1 ? '' : 's'}</span>)}
        {diags.filter((d) => mode === 'yaml' || !d.path).map((d) => <div class="field-error" role="alert">{d.text}</div>)}
      </div>
      {saveError && saveError.status === 409 && (
        <Notice kind="error">{saveError.message} <button class="link" onClick={() => load()}>Reload version {saveError.body.activeVersion}</button></Notice>
      )}
      {saveError && saveError.status !== 409 && !saveError.body?.diagnostics && <ErrorBox error={saveError} />}
      {saveError?.body?.diagnostics && <Notice kind="error">{saveError.message}</Notice>}
      {saveResult && <Notice kind="ok"><span id="save-result">{saveResult.changed ? `Saved as version ${saveResult.version}.` : `No change: version ${saveResult.version} is active.`}</span> <a href="#/history">History</a></Notice>}
      {dry && <div class="card"><h3>Dry run</h3><DiffView diff={dry} /></div>}
      <div class="actions">
        {canEdit && <button class="primary" disabled={busy} onClick={() => save(false)}>Save</button>}
        {canEdit && <button disabled={busy} onClick={() => save(true)}>Dry run (diff)</button>}
        <button onClick={onClose}>Close</button>
        {!canEdit && <span class="muted">Read-only: your role cannot change configuration.</span>}
      </div>
    </div>
  );
}
