// Gatehouse admin UI: a small single-page app (Preact, hash routes), built by esbuild and
// embedded into the gatehouse binary. No CDN, no inline script: the CSP forbids both.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { ApiError, get, post, setCsrf, setUnauthorizedHandler } from './api.js';
import { Overview } from './screens/overview.jsx';
import { Topology } from './screens/topology.jsx';
import { Routes } from './screens/routes.jsx';
import { Policies } from './screens/policies.jsx';
import { Scripts } from './screens/scripts.jsx';
import { Certificates } from './screens/certificates.jsx';
import { History } from './screens/history.jsx';
import { Audit } from './screens/audit.jsx';
import { Users } from './screens/users.jsx';

const screens = [
  ['overview', 'Overview', Overview],
  ['topology', 'Topology', Topology],
  ['routes', 'Routes & services', Routes],
  ['policies', 'Policies', Policies],
  ['scripts', 'Lua scripts', Scripts],
  ['certificates', 'Certificates', Certificates],
  ['history', 'History', History],
  ['audit', 'Audit log', Audit],
  ['users', 'Users', Users],
];

function useHash() {
  const read = () => (location.hash.replace(/^#\/?/, '') || 'overview');
  const [hash, setHash] = useState(read());
  useEffect(() => {
    const on = () => setHash(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function Login({ onLogin }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onLogin(await post('login', { user, password }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form onSubmit={submit} aria-label="Log in">
        <h1><img src="/favicon.svg" alt="" width="28" height="28" /> Gatehouse</h1>
        <p class="muted">Log in to the admin UI. A new node's first account is <code>admin</code>; its one-time password is in <code>DATA_DIR/initial-admin-password</code>.</p>
        <label for="login-user">User</label>
        <input id="login-user" name="user" autocomplete="username" required value={user} onInput={(e) => setUser(e.currentTarget.value)} />
        <label for="login-password">Password</label>
        <input id="login-password" name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        {error && <div class="error" role="alert">{error.status === 429 ? 'Too many failed logins. Wait a few minutes and try again.' : error.message}</div>}
        <button type="submit" class="primary" disabled={busy}>Log in</button>
      </form>
    </main>
  );
}

function ChangePassword({ session, onDone, forced }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState(null);
  const [ok, setOk] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    if (next !== again) { setError(new Error('The two new passwords differ.')); return; }
    try {
      await post('password', { current, new: next });
      setOk(true);
      onDone && onDone();
    } catch (err) { setError(err); }
  };
  return (
    <form class={forced ? 'login-form card' : 'card'} onSubmit={submit} aria-label="Change password">
      <h2>{forced ? 'Choose your password' : 'Change your password'}</h2>
      {forced && <p>The password of <strong>{session.user}</strong> was a one-time password. Choose a new one (at least 10 characters) to continue.</p>}
      <label for="pw-current">Current password</label>
      <input id="pw-current" type="password" autocomplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
      <label for="pw-new">New password</label>
      <input id="pw-new" type="password" autocomplete="new-password" minLength={10} required value={next} onInput={(e) => setNext(e.currentTarget.value)} />
      <label for="pw-again">New password again</label>
      <input id="pw-again" type="password" autocomplete="new-password" minLength={10} required value={again} onInput={(e) => setAgain(e.currentTarget.value)} />
      {error && <div class="error" role="alert">{error.message}</div>}
      {ok && !forced && <div class="notice ok" role="status">Password changed.</div>}
      <button type="submit" class="primary">Change password</button>
    </form>
  );
}

function App() {
  const [session, setSession] = useState(undefined);
  const hash = useHash();
  const [menu, setMenu] = useState(false);

  const adopt = (s) => { setCsrf(s?.csrf); setSession(s); };
  useEffect(() => {
    setUnauthorizedHandler(() => adopt(null));
    get('session').then(adopt).catch(() => adopt(null));
  }, []);
  useEffect(() => setMenu(false), [hash]);

  if (session === undefined) return <p class="muted pad">Loading…</p>;
  if (!session) return <Login onLogin={adopt} />;
  if (session.mustChangePassword) {
    return <main class="login"><ChangePassword forced session={session} onDone={() => get('session').then(adopt)} /></main>;
  }
  const [name] = hash.split('/');
  const entry = screens.find(([n]) => n === name);
  const Screen = name === 'account' ? () => <ChangePassword session={session} /> : entry ? entry[2] : null;
  const logout = async () => {
    try { await post('logout'); } catch (e) { /* the session is gone either way */ }
    adopt(null);
    location.hash = '';
  };
  return (
    <div class="shell">
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <button class="menu-toggle" aria-expanded={menu} aria-controls="nav" onClick={() => setMenu(!menu)}>Menu</button>
        <a class="brand" href="#/overview"><img src="/favicon.svg" alt="" width="22" height="22" /> Gatehouse</a>
        <span class="who">
          <a href="#/account" title="Change your password">{session.user}</a> <span class="badge">{session.role}</span>
          <button class="link" onClick={logout}>Log out</button>
        </span>
      </header>
      <nav id="nav" class={menu ? 'open' : ''} aria-label="Screens">
        <ul>
          {screens.map(([n, label]) => (
            <li><a href={'#/' + n} aria-current={n === name ? 'page' : undefined}>{label}</a></li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {Screen ? <Screen session={session} route={hash} /> : <p>No such screen. <a href="#/overview">Overview</a></p>}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app'));
