import { useState } from 'preact/hooks';
import { del, post, put } from '../api.js';
import { ConfirmButton, ErrorBox, Field, Loading, Notice, useApi } from '../components.jsx';
import { fmtAgo, fmtTime } from '../util.js';

const ROLES = ['viewer', 'editor', 'admin'];

function Tokens() {
  const [list, err, reload] = useApi('tokens');
  const [form, setForm] = useState({ name: '', role: 'viewer', ttlDays: 90 });
  const [made, setMade] = useState(null);
  const [error, setError] = useState(null);
  const create = async (e) => {
    e.preventDefault();
    setError(null);
    try { setMade(await post('tokens', { ...form, ttlDays: Number(form.ttlDays) })); reload(); } catch (x) { setError(x); }
  };
  return (
    <div class="card">
      <h2>API tokens</h2>
      <p class="muted">For CI: <code>Authorization: Bearer TOKEN</code>. A token acts with its role.</p>
      <ErrorBox error={err || error} />
      <form class="row" onSubmit={create} aria-label="Create an API token">
        <Field label="Name" id="tok-name"><input id="tok-name" required value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} /></Field>
        <Field label="Role" id="tok-role"><select id="tok-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.currentTarget.value })}>{ROLES.map((r) => <option>{r}</option>)}</select></Field>
        <Field label="Days valid (0: never expires)" id="tok-ttl"><input id="tok-ttl" value={form.ttlDays} onInput={(e) => setForm({ ...form, ttlDays: e.currentTarget.value })} /></Field>
        <div class="field"><span>&nbsp;</span><button type="submit">Create token</button></div>
      </form>
      {made && <Notice kind="ok">Token {made.name} (shown once): <code class="secret">{made.token}</code></Notice>}
      {!list ? <Loading /> : (
        <div class="table-wrap"><table>
          <thead><tr><th scope="col">Id</th><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Made by</th><th scope="col">Expires</th><th scope="col">Last used</th><th /></tr></thead>
          <tbody>{list.items.map((t) => (
            <tr><td><code>{t.id}</code></td><td>{t.name}</td><td>{t.role}</td><td>{t.createdBy}</td><td>{t.expiresAt ? fmtTime(t.expiresAt) : 'never'}</td><td>{fmtAgo(t.lastUsedAt)}</td>
              <td><ConfirmButton aria-label={`Revoke token ${t.name}`} onConfirm={() => del('tokens/' + t.id).then(reload, setError)}>Revoke</ConfirmButton></td></tr>
          ))}</tbody>
        </table></div>
      )}
    </div>
  );
}

export function Users({ session }) {
  const isAdmin = session.role === 'admin';
  const [list, err, reload] = useApi(isAdmin ? 'users' : null);
  const [form, setForm] = useState({ name: '', role: 'viewer', password: '' });
  const [error, setError] = useState(null);
  if (!isAdmin) {
    return <section><h1>Users</h1><p>You are <strong>{session.user}</strong> ({session.role}). Managing users and API tokens needs the admin role. <a href="#/account">Change your password</a>.</p></section>;
  }
  const add = async (e) => {
    e.preventDefault();
    setError(null);
    try { await post('users', form); setForm({ name: '', role: 'viewer', password: '' }); reload(); } catch (x) { setError(x); }
  };
  const act = (p) => p.then(reload, setError);
  return (
    <section aria-labelledby="users-h">
      <h1 id="users-h">Users</h1>
      <ErrorBox error={err || error} />
      {!list ? <Loading /> : (
        <div class="table-wrap"><table id="users-table">
          <thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Changed</th><th /></tr></thead>
          <tbody>{list.items.map((u) => (
            <tr><td>{u.name}{u.mustChangePassword && <span class="badge warn">one-time password</span>}</td>
              <td><select aria-label={`Role of ${u.name}`} value={u.role} onChange={(e) => act(put('users/' + encodeURIComponent(u.name), { role: e.currentTarget.value }))}>{ROLES.map((r) => <option>{r}</option>)}</select></td>
              <td>{fmtTime(u.createdAt)}</td><td>{fmtTime(u.updatedAt)}</td>
              <td>{u.name !== session.user && <ConfirmButton aria-label={`Remove user ${u.name}`} onConfirm={() => act(del('users/' + encodeURIComponent(u.name)))}>Remove</ConfirmButton>}</td></tr>
          ))}</tbody>
        </table></div>
      )}
      <form class="card row" onSubmit={add} aria-label="Add a user">
        <Field label="Name" id="u-name"><input id="u-name" required value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} /></Field>
        <Field label="Role" id="u-role"><select id="u-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.currentTarget.value })}>{ROLES.map((r) => <option>{r}</option>)}</select></Field>
        <Field label="Password (at least 10 characters)" id="u-password"><input id="u-password" type="password" autocomplete="new-password" required minLength={10} value={form.password} onInput={(e) => setForm({ ...form, password: e.currentTarget.value })} /></Field>
        <div class="field"><span>&nbsp;</span><button type="submit" class="primary">Add user</button></div>
      </form>
      <Tokens />
    </section>
  );
}
