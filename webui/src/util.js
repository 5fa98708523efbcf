export function fmtTime(ms) {
  if (!ms) return '—';
  const d = new Date(ms);
  return d.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}

export function fmtAgo(ms, now = Date.now()) {
  if (!ms) return 'never';
  const s = Math.round((now - ms) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function fmtDuration(seconds) {
  const neg = seconds < 0;
  let s = Math.abs(seconds);
  let out;
  if (s < 3600) out = `${Math.round(s / 60)} min`;
  else if (s < 2 * 86400) out = `${Math.round(s / 3600)} h`;
  else out = `${Math.round(s / 86400)} days`;
  return neg ? `expired ${out} ago` : out;
}

export function key(r) { return `${r.kind}/${r.namespace}/${r.name}`; }

// Diagnostics whose field path starts with `prefix` (the field-level messages of a form).
export function diagsFor(diags, prefix) {
  return (diags || []).filter((d) => d.path && (d.path === prefix || d.path.startsWith(prefix + '.') || d.path.startsWith(prefix + '[')));
}
