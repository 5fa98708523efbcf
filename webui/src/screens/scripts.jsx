export function Scripts() {
  return (
    <section aria-labelledby="scripts-h">
      <h1 id="scripts-h">Lua scripts</h1>
      <div class="empty card">
        <h2>No Lua scripts in this build yet</h2>
        <p>Lua hooks (an editor with syntax check, attach points and per-script executions and errors) appear here once the configuration has a script resource. This build has the LuaJIT host linked but no script resource kind yet, so there is nothing to list or edit.</p>
        <p class="muted">Until then, routes, services and policies are configured on their own screens; see <code>docs/admin.md</code>.</p>
      </div>
    </section>
  );
}
