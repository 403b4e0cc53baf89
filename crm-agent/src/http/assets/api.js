// Calls to the server's JSON API with the signed-in token, and the error they throw.
// api() signs out on a 401, so it imports from the entry module; the cycle is harmless because
// neither side uses the other's bindings until the page runs.

import { signOut, state } from './app.js';

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

async function errorFrom(response) {
  let code = 'http_' + response.status;
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, code, message, response.headers.get('Retry-After'));
}

/** Calls the API with the token. 401 signs out. Returns parsed JSON (null for 204). */
export async function api(path, { method = 'GET', body, signal, raw = false } = {}) {
  const headers = { Accept: raw ? 'text/event-stream' : 'application/json' };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: 'no-store' });
  if (response.status === 401) {
    const error = await errorFrom(response);
    signOut('The server did not accept your token (unknown, revoked or expired). Please sign in again.');
    throw error;
  }
  if (!response.ok) throw await errorFrom(response);
  if (raw) return response;
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}
