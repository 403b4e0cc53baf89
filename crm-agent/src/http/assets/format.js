// Text for times, JSON arguments and tool results, as the page shows them (no DOM).

export function formatTime(iso, withDate = true) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return withDate
    ? date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })
    : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function compactJson(value, max = 160) {
  let text;
  try {
    text = JSON.stringify(value ?? {});
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function prettyJson(value) {
  try {
    return JSON.stringify(value ?? {}, null, 2);
  } catch {
    return String(value);
  }
}

/** One line about a tool result, like the server's: "3 of 120 results", "Acme Ltd", "ok". */
export function resultSummary(value) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    if (Array.isArray(value.items) && value.total !== undefined) return `${value.items.length} of ${value.total} results`;
    for (const key of ['name', 'title', 'number', 'full_name', 'id']) {
      if (typeof value[key] === 'string') return value[key].slice(0, 120);
    }
    return `${Object.keys(value).length} fields`;
  }
  if (Array.isArray(value)) return `${value.length} results`;
  return 'ok';
}

/** What a stored function response says: {status: ok|failed|pending, summary}. */
export function responseOutcome(response) {
  if (response && typeof response === 'object' && response.error) {
    const error = response.error;
    return { status: 'failed', summary: (error && (error.message || error.kind)) || 'failed' };
  }
  const output = response && typeof response === 'object' ? response.output : response;
  if (output && typeof output === 'object' && output.status === 'pending_confirmation') {
    return { status: 'pending', summary: '', actionId: output.action_id };
  }
  if (output && typeof output === 'object' && output.truncated === true) return { status: 'ok', summary: 'large result (cut)' };
  return { status: 'ok', summary: resultSummary(output) };
}
