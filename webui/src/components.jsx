import { useEffect, useRef, useState } from 'preact/hooks';
import { get } from './api.js';

// Loads `path` (again every `every` ms when given); returns [data, error, reload].
export function useApi(path, every) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    let timer;
    const load = () => get(path).then((d) => { if (live) { setData(d); setError(null); } })
      .catch((e) => { if (live) setError(e); })
      .finally(() => { if (live && every) timer = setTimeout(load, every); });
    if (path) load();
    return () => { live = false; clearTimeout(timer); };
  }, [path, tick, every]);
  return [data, error, () => setTick((t) => t + 1)];
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return <div class="error" role="alert">{error.message || String(error)}</div>;
}

export function Notice({ kind = 'info', children }) {
  return <div class={'notice ' + kind} role={kind === 'error' ? 'alert' : 'status'}>{children}</div>;
}

export function Loading() { return <p class="muted">Loading…</p>; }

export function Field({ label, id, diags, hint, children }) {
  return (
    <div class={'field' + (diags && diags.length ? ' invalid' : '')}>
      <label for={id}>{label}</label>
      {children}
      {hint && <small class="hint">{hint}</small>}
      {(diags || []).map((d) => <small class="field-error" role="alert" data-path={d.path}>{d.message}</small>)}
    </div>
  );
}

export function DiffView({ diff }) {
  if (!diff) return null;
  if (!diff.changes.length) return <p class="muted">No change.</p>;
  return (
    <div class="diff" aria-label="diff">
      <p><strong>{diff.summary}</strong></p>
      {diff.changes.map((c) => (
        <div class={'diff-res ' + c.op}>
          <div class="diff-key">{c.op === 'created' ? '+' : c.op === 'deleted' ? '−' : '~'} {c.key}</div>
          {c.fields.map((f) => (
            <div class="diff-field">
              <code>{f.path || '(document)'}</code>:{' '}
              {f.before && <del>{f.before}</del>}{f.before && f.after && ' → '}{f.after && <ins>{f.after}</ins>}
            </div>
          ))}
        </div>
      ))}
    </div>
  );
}

export function Search({ value, onInput, label }) {
  return <input type="search" class="search" aria-label={label} placeholder={label} value={value} onInput={(e) => onInput(e.currentTarget.value)} />;
}

// A dialog-less confirmation: the first press arms, the second within 5 s does it.
export function ConfirmButton({ onConfirm, children, armed = 'Click again to confirm', ...rest }) {
  const [on, setOn] = useState(false);
  const t = useRef();
  useEffect(() => () => clearTimeout(t.current), []);
  return (
    <button {...rest} class={(rest.class || '') + (on ? ' danger' : '')} onClick={() => {
      if (on) { setOn(false); onConfirm(); return; }
      setOn(true);
      t.current = setTimeout(() => setOn(false), 5000);
    }}>{on ? armed : children}</button>
  );
}
