import { useState } from 'preact/hooks';
import { post } from '../api.js';
import { ErrorBox, Field, Loading, Notice, useApi } from '../components.jsx';
import { fmtDuration, fmtTime } from '../util.js';

function Timeline({ certs }) {
  if (!certs.length) return null;
  const now = Date.now() / 1000;
  const start = Math.min(now, ...certs.map((c) => c.notBefore));
  const end = Math.max(now + 86400, ...certs.map((c) => c.notAfter));
  const pct = (t) => `${(100 * (t - start)) / (end - start)}%`;
  return (
    <div class="timeline card" role="img" aria-label="Certificate expiry timeline">
      {certs.map((c) => (
        <div class="tl-row">
          <span class="tl-label">{c.label}</span>
          <div class="tl-track">
            <div class={'tl-bar' + (c.notAfter - now < 14 * 86400 ? ' soon' : '')} style={{ left: pct(c.notBefore), width: `calc(${pct(c.notAfter)} - ${pct(c.notBefore)})` }} title={`${fmtTime(c.notBefore * 1000)} → ${fmtTime(c.notAfter * 1000)}`} />
            <div class="tl-now" style={{ left: pct(now) }} />
          </div>
          <span class="tl-left">{fmtDuration(c.notAfter - now)}</span>
        </div>
      ))}
    </div>
  );
}

function JoinTokens({ session }) {
  const isAdmin = session.role === 'admin';
  const [list, err, reload] = useApi(isAdmin ? 'join-tokens' : null);
  const [form, setForm] = useState({ workload: '', namespace: 'default', ttl: '1h' });
  const [made, setMade] = useState(null);
  const [error, setError] = useState(null);
  if (!isAdmin) return <p class="muted">Join tokens are made by admins.</p>;
  const create = async (e) => {
    e.preventDefault();
    setError(null);
    try { setMade(await post('join-tokens', form)); reload(); } catch (x) { setError(x); }
  };
  return (
    <div class="card">
      <h2>Join tokens</h2>
      {err && err.status === 404 ? <p class="muted">{err.message}</p> : <ErrorBox error={err} />}
      <form onSubmit={create} aria-label="Create a join token" class="row">
        <Field label="Workload (service account)" id="jt-workload"><input id="jt-workload" required value={form.workload} onInput={(e) => setForm({ ...form, workload: e.currentTarget.value })} /></Field>
        <Field label="Namespace" id="jt-ns"><input id="jt-ns" value={form.namespace} onInput={(e) => setForm({ ...form, namespace: e.currentTarget.value })} /></Field>
        <Field label="Valid for" id="jt-ttl" hint="1s to 168h"><input id="jt-ttl" value={form.ttl} onInput={(e) => setForm({ ...form, ttl: e.currentTarget.value })} /></Field>
        <div class="field"><span>&nbsp;</span><button type="submit" class="primary">Create token</button></div>
      </form>
      <ErrorBox error={error} />
      {made && <Notice kind="ok">Token for <code>{made.spiffeId}</code> (single use, shown once): <code class="secret" id="join-token">{made.token}</code><br />On the new node: <code>gatehouse join --ca HOST:15012 --token …</code></Notice>}
      {list && (
        <div class="table-wrap"><table>
          <thead><tr><th scope="col">Id</th><th scope="col">Identity</th><th scope="col">Expires</th><th scope="col">State</th></tr></thead>
          <tbody>{list.items.map((t) => <tr><td><code>{t.id}</code></td><td>{t.spiffeId}</td><td>{fmtTime(t.expiresAt * 1000)}</td>
            <td>{t.usedAt ? 'used ' + fmtTime(t.usedAt * 1000) : t.expiresAt * 1000 < Date.now() ? 'expired' : 'unused'}</td></tr>)}</tbody>
        </table></div>
      )}
    </div>
  );
}

export function Certificates({ session }) {
  const [c, err] = useApi('certificates', 30000);
  const certs = [];
  if (c?.identity) certs.push({ label: 'workload identity', ...c.identity });
  (c?.listeners || []).forEach((l) => certs.push({ label: `${l.listener} ${l.dnsNames[0] || l.subject}`, ...l }));
  return (
    <section aria-labelledby="cert-h">
      <h1 id="cert-h">Certificates</h1>
      <ErrorBox error={err} />
      {!c ? <Loading /> : (
        <div>
          {c.warnings.map((w) => <Notice kind="warn">{w}</Notice>)}
          <Timeline certs={certs} />
          <div class="table-wrap"><table>
            <thead><tr><th scope="col">Used for</th><th scope="col">Identity / names</th><th scope="col">Key</th><th scope="col">Not after</th><th scope="col">SHA-256</th></tr></thead>
            <tbody>
              {c.identity && <tr><td>workload identity (mesh mTLS)</td><td>{c.identity.spiffeId}</td><td>{c.identity.keyType}</td><td>{fmtTime(c.identity.notAfter * 1000)}</td><td><code class="fp">{c.identity.fingerprint}</code></td></tr>}
              {c.listeners.map((l) => <tr><td>listener {l.listener}</td><td>{l.dnsNames.join(', ') || l.subject}</td><td>{l.keyType}</td><td>{fmtTime(l.notAfter * 1000)}</td><td><code class="fp">{l.fingerprint}</code></td></tr>)}
            </tbody>
          </table></div>
          {!c.identity && <p class="muted">This node has no workload identity (its configuration uses no mesh listener or mesh service, or it has not joined).</p>}
          {c.ca ? <p>Mesh CA on this node: trust domain <strong>{c.ca.trustDomain}</strong>, fingerprint <code class="fp">sha256:{c.ca.fingerprint}</code></p> : <p class="muted">No mesh CA on this node.</p>}
        </div>
      )}
      <JoinTokens session={session} />
    </section>
  );
}
