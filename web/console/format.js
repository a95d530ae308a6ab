// Small helpers the panels share for turning the server's values into text and times.

export function escapeHtml(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) =>
    ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// SQL time text ('2026-11-24 09:30:00.5', '...+00', a date) as whole milliseconds since the
// epoch, UTC; what is finer than a millisecond is dropped, as Date.parse takes no more.
export function sqlTimeMs(text) {
  let iso = String(text).replace(' ', 'T');
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00';
  iso = iso.replace(/(\.\d{3})\d+/, '$1').replace(/([+-]\d{2})$/, '$1:00');
  if (!/(Z|[+-]\d{2}:\d{2})$/.test(iso)) iso += 'Z';
  return Date.parse(iso);
}
