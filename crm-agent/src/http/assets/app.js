// crm-agent web chat: sign-in, status, conversations, streaming chat (SSE over fetch),
// confirmation cards and a small, safe Markdown renderer. No framework, no build step.
//
// Safety rule for this file: text from the model, the store or the server is only ever put
// into the page with textContent, or through renderMarkdown(), which escapes everything first.

const TOKEN_KEY = 'crm-agent.token';
const CONVERSATION_PAGE = 50;
const MESSAGE_LIMIT = 200;

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Escapes text for HTML (element content and double- or single-quoted attributes). */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** Creates an element: attributes (`class`, `text`, `data-*`, aria, on* handlers) and children. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function formatTime(iso, withDate = true) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return withDate
    ? date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })
    : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function compactJson(value, max = 160) {
  let text;
  try {
    text = JSON.stringify(value ?? {});
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function prettyJson(value) {
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
function responseOutcome(response) {
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

// ---------------------------------------------------------------------------------------------
// Server-Sent Events parser (https://html.spec.whatwg.org/multipage/server-sent-events.html)

/**
 * Incremental SSE parser: feed it decoded text in chunks split anywhere; it calls
 * `onEvent({event, data, id})` for every complete event. Handles CRLF, LF and CR line ends
 * (a CRLF split across chunks too), multi-line `data`, comments and fields without a value.
 */
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.line = '';
    this.skipLf = false;
    this.first = true;
    this.reset();
  }

  reset() {
    this.data = [];
    this.hasData = false;
    this.event = '';
    this.id = undefined;
  }

  push(chunk) {
    let text = chunk;
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    if (this.skipLf && text.length > 0) {
      if (text[0] === '\n') start = 1;
      this.skipLf = false;
    }
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (c !== '\n' && c !== '\r') continue;
      const line = this.line + text.slice(start, i);
      this.line = '';
      if (c === '\r') {
        if (i + 1 < text.length) {
          if (text[i + 1] === '\n') i++;
        } else {
          this.skipLf = true;
        }
      }
      start = i + 1;
      this.processLine(line);
    }
    this.line += text.slice(start);
  }

  /** The stream ended: a last event without its blank line is still delivered. */
  end() {
    if (this.line) this.processLine(this.line);
    this.line = '';
    this.dispatch();
  }

  processLine(line) {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line[0] === ':') return; // a comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.hasData = true;
    } else if (field === 'event') {
      this.event = value;
    } else if (field === 'id' && !value.includes('\0')) {
      this.id = value;
    }
  }

  dispatch() {
    if (this.hasData) this.onEvent({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
    this.reset();
  }
}

// ---------------------------------------------------------------------------------------------
// Markdown: escape everything, then add a few tags of our own.

const LIST_RE = /^(\s*)([-*+]|\d{1,9}[.)])[ \t]+(.*)$/;
const FENCE_RE = /^ {0,3}(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$/;
const HEADING_RE = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/;
const HR_RE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE_RE = /^ {0,3}>[ \t]?(.*)$/;
const TABLE_SEP_RE = /^[ \t]*\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

const isBlank = (line) => /^\s*$/.test(line);
const indentOf = (line) => {
  const m = /^[ \t]*/.exec(line)[0];
  return m.replace(/\t/g, '    ').length;
};
const isOrdered = (marker) => /\d/.test(marker);

function isTableStart(lines, i) {
  return i + 1 < lines.length && lines[i].includes('|') && lines[i + 1].includes('|') && lines[i + 1].includes('-') && TABLE_SEP_RE.test(lines[i + 1]);
}

function isBlockStart(lines, i) {
  const line = lines[i];
  return FENCE_RE.test(line) || HEADING_RE.test(line) || HR_RE.test(line) || QUOTE_RE.test(line) || isTableStart(lines, i);
}

/** Renders Markdown to HTML. All input text is escaped; only tags made here are produced. */
export function renderMarkdown(source) {
  const text = String(source ?? '').replace(/\0/g, '').replace(/\r\n?/g, '\n');
  return renderBlocks(text.split('\n'));
}

function renderBlocks(lines) {
  const out = [];
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) out.push(`<p>${inline(paragraph.join('\n'))}</p>`);
    paragraph = [];
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      flush();
      i++;
      continue;
    }
    let m = FENCE_RE.exec(line);
    if (m) {
      flush();
      const fence = m[1];
      const lang = m[2].replace(/[^\w+#.-]/g, '');
      const body = [];
      i++;
      while (i < lines.length) {
        const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(lines[i]);
        if (close && close[1][0] === fence[0] && close[1].length >= fence.length) {
          i++;
          break;
        }
        body.push(lines[i]);
        i++;
      }
      const cls = lang ? ` class="language-${escapeHtml(lang)}"` : '';
      out.push(`<pre><code${cls}>${escapeHtml(body.join('\n'))}</code></pre>`);
      continue;
    }
    m = HEADING_RE.exec(line);
    if (m) {
      flush();
      // The page already uses h1/h2: a model's "#" becomes h3, and so on.
      const level = Math.min(m[1].length + 2, 6);
      out.push(`<h${level}>${inline(m[2])}</h${level}>`);
      i++;
      continue;
    }
    if (HR_RE.test(line)) {
      flush();
      out.push('<hr>');
      i++;
      continue;
    }
    if (QUOTE_RE.test(line)) {
      flush();
      const inner = [];
      while (i < lines.length && !isBlank(lines[i])) {
        const q = QUOTE_RE.exec(lines[i]);
        inner.push(q ? q[1] : lines[i]);
        i++;
      }
      out.push(`<blockquote>${renderBlocks(inner)}</blockquote>`);
      continue;
    }
    if (isTableStart(lines, i)) {
      flush();
      const [html, next] = renderTable(lines, i);
      out.push(html);
      i = next;
      continue;
    }
    if (LIST_RE.test(line)) {
      flush();
      const [html, next] = renderList(lines, i);
      out.push(html);
      i = next;
      continue;
    }
    paragraph.push(line.trim());
    i++;
  }
  flush();
  return out.join('\n');
}

function renderList(lines, start) {
  const first = LIST_RE.exec(lines[start]);
  const baseIndent = indentOf(lines[start]);
  const ordered = isOrdered(first[2]);
  const startNumber = ordered ? parseInt(first[2], 10) : 1;
  const parts = [ordered ? (startNumber !== 1 ? `<ol start="${startNumber}">` : '<ol>') : '<ul>'];
  let item = null;
  const closeItem = () => {
    if (item) parts.push(`<li>${inline(item.text.join('\n'))}${item.nested}</li>`);
    item = null;
  };
  let i = start;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      // A blank line ends the list unless the list (or the item) goes on after it.
      let j = i + 1;
      while (j < lines.length && isBlank(lines[j])) j++;
      if (j >= lines.length) break;
      const next = LIST_RE.exec(lines[j]);
      const indent = indentOf(lines[j]);
      const sibling = next && indent >= baseIndent && indent <= baseIndent + 1 && isOrdered(next[2]) === ordered;
      const deeper = indent > baseIndent + 1 && item;
      if (sibling || deeper) {
        i = j;
        continue;
      }
      break;
    }
    const m = LIST_RE.exec(line);
    const indent = indentOf(line);
    if (m && indent < baseIndent) break;
    if (m && indent <= baseIndent + 1) {
      if (isOrdered(m[2]) !== ordered) break;
      closeItem();
      item = { text: [m[3].trim()], nested: '' };
      i++;
      continue;
    }
    if (m && item) {
      const [html, next] = renderList(lines, i);
      item.nested += html;
      i = next;
      continue;
    }
    if (item && (indent > baseIndent || !isBlockStart(lines, i))) {
      item.text.push(line.trim());
      i++;
      continue;
    }
    break;
  }
  closeItem();
  parts.push(ordered ? '</ol>' : '</ul>');
  return [parts.join(''), i];
}

function splitRow(line) {
  let row = line.trim();
  if (row.startsWith('|')) row = row.slice(1);
  if (row.endsWith('|') && !row.endsWith('\\|')) row = row.slice(0, -1);
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

function renderTable(lines, start) {
  const header = splitRow(lines[start]);
  const aligns = splitRow(lines[start + 1]).map((cell) => {
    const left = cell.startsWith(':');
    const right = cell.endsWith(':');
    return left && right ? 'center' : right ? 'right' : left ? 'left' : '';
  });
  const cellHtml = (tag, text, index) => {
    const align = aligns[index] ? ` class="align-${aligns[index]}"` : '';
    return `<${tag}${align}>${inline(text)}</${tag}>`;
  };
  const rows = [];
  let i = start + 2;
  while (i < lines.length && !isBlank(lines[i]) && lines[i].includes('|')) {
    const cells = splitRow(lines[i]);
    rows.push(`<tr>${header.map((_, index) => cellHtml('td', cells[index] ?? '', index)).join('')}</tr>`);
    i++;
  }
  const head = `<thead><tr>${header.map((text, index) => cellHtml('th', text, index)).join('')}</tr></thead>`;
  return [`<div class="table-wrap"><table>${head}<tbody>${rows.join('')}</tbody></table></div>`, i];
}

const SAFE_URL_RE = /^https?:\/\/[^\s]+$/i;

/** Inline Markdown of one block's text: code, links, bare URLs, bold, italic, strikethrough. */
function inline(raw) {
  const held = [];
  const hold = (html) => `\0${held.push(html) - 1}\0`;
  // 1. Code spans, taken out before anything else touches them.
  let text = raw.replace(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, (_, _ticks, code) => hold(`<code>${escapeHtml(code.replace(/^ (.*) $/s, '$1'))}</code>`));
  // 2. Everything else is escaped.
  text = escapeHtml(text);
  // 3. Links [label](http(s)://…); other schemes stay plain text.
  text = text.replace(/\[([^\]\n]+)\]\(\s*([^\s)]+)(?:\s+&quot;[^\n]*?&quot;)?\s*\)/g, (whole, label, url) => {
    if (!SAFE_URL_RE.test(url)) return label;
    return hold(`<a href="${url}" rel="noopener noreferrer" target="_blank">${emphasis(label)}</a>`);
  });
  // 4. Bare URLs.
  text = text.replace(/\bhttps?:\/\/[^\s<>\0]+/gi, (match) => {
    let url = match;
    let tail = '';
    for (;;) {
      const trailing = /(?:[.,:;!?)\]*_~]|&quot;|&#39;|&gt;)$/.exec(url);
      if (!trailing) break;
      tail = trailing[0] + tail;
      url = url.slice(0, -trailing[0].length);
    }
    if (!SAFE_URL_RE.test(url) || url.length < 9) return match;
    return hold(`<a href="${url}" rel="noopener noreferrer" target="_blank">${url}</a>`) + tail;
  });
  // 5. Emphasis.
  text = emphasis(text);
  // 6. Put held pieces back (labels may hold code spans, so repeat).
  for (let n = 0; n < 3 && text.includes('\0'); n++) text = text.replace(/\0(\d+)\0/g, (_, index) => held[Number(index)] ?? '');
  return text.replace(/\n/g, '<br>');
}

function emphasis(text) {
  return text
    .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^\w])__(?=\S)([\s\S]*?\S)__(?!\w)/g, '$1<strong>$2</strong>')
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, '<del>$1</del>')
    .replace(/(^|[^*\w])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![*\w])/g, '$1<em>$2</em>')
    .replace(/(^|[^\w])_(?=[^\s_])([^_\n]*?[^\s_])_(?!\w)/g, '$1<em>$2</em>');
}

// ---------------------------------------------------------------------------------------------
// API

class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

const state = {
  token: null,
  status: null,
  conversationId: null,
  conversations: [],
  nextCursor: null,
  turn: null, // the running chat turn
  demoUsers: null,
};

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
async function api(path, { method = 'GET', body, signal, raw = false } = {}) {
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

// ---------------------------------------------------------------------------------------------
// DOM references

let $;

function bindDom() {
  const id = (name) => document.getElementById(name);
  $ = {
    signin: id('signin'),
    signinMessage: id('signin-message'),
    demoUsers: id('demo-users'),
    demoUserList: id('demo-user-list'),
    tokenForm: id('token-form'),
    tokenInput: id('token-input'),
    app: id('app'),
    sessionBar: id('session-bar'),
    whoami: id('whoami'),
    signOut: id('sign-out'),
    toggleConversations: id('toggle-conversations'),
    banner: id('status-banner'),
    conversationList: id('conversation-list'),
    moreConversations: id('more-conversations'),
    newConversation: id('new-conversation'),
    log: id('log'),
    chatForm: id('chat-form'),
    input: id('message-input'),
    send: id('send'),
    emptyLog: id('empty-log'),
  };
}

// ---------------------------------------------------------------------------------------------
// Sign-in

function showSignin(message) {
  $.app.hidden = true;
  $.sessionBar.hidden = true;
  $.signin.hidden = false;
  $.signinMessage.hidden = !message;
  $.signinMessage.textContent = message || '';
  loadDemoUsers();
  const firstDemo = $.demoUserList.querySelector('button');
  (firstDemo || $.tokenInput).focus();
}

async function loadDemoUsers() {
  if (state.demoUsers !== null) {
    renderDemoUsers();
    return;
  }
  try {
    const response = await fetch('/api/demo/users', { headers: { Accept: 'application/json' }, cache: 'no-store' });
    state.demoUsers = response.ok ? await response.json() : [];
  } catch {
    state.demoUsers = [];
  }
  if (!Array.isArray(state.demoUsers)) state.demoUsers = [];
  renderDemoUsers();
  // Loaded after the form got focus: offer the picker first unless the user started typing.
  const first = $.demoUserList.querySelector('button');
  if (first && !$.signin.hidden && document.activeElement === $.tokenInput && !$.tokenInput.value) first.focus();
}

function renderDemoUsers() {
  const users = state.demoUsers || [];
  $.demoUsers.hidden = users.length === 0;
  $.demoUserList.replaceChildren(
    ...users.map((user) =>
      el(
        'li',
        {},
        el(
          'button',
          {
            type: 'button',
            class: 'demo-user',
            'data-testid': 'demo-user',
            'data-user-id': user.user_id,
            'aria-label': `Sign in as ${user.display_name || user.user_id} (${user.role}, ${user.organization})`,
            onclick: () => signIn(user.token),
          },
          el('span', { class: 'demo-name', text: user.display_name || user.user_id }),
          el('span', { class: 'demo-meta', text: `${user.user_id} · ${user.role} · ${user.organization}` }),
        ),
      ),
    ),
  );
}

async function signIn(token) {
  state.token = token.trim();
  if (!state.token) return;
  sessionStorage.setItem(TOKEN_KEY, state.token);
  await enterApp();
}

function signOut(message) {
  abortTurn();
  state.token = null;
  state.status = null;
  state.conversationId = null;
  state.conversations = [];
  state.nextCursor = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $.log.replaceChildren();
  $.conversationList.replaceChildren();
  $.tokenInput.value = '';
  showSignin(message);
}

async function enterApp() {
  let status;
  try {
    status = await api('/api/status');
  } catch (error) {
    if (error.status !== 401) showSignin(`Could not load your status: ${error.message}`);
    return;
  }
  state.status = status;
  $.signin.hidden = true;
  $.app.hidden = false;
  $.sessionBar.hidden = false;
  renderStatus(status);
  newConversation();
  await loadConversations();
}

function renderStatus(status) {
  const user = status.user || {};
  $.whoami.replaceChildren(
    el('span', { class: 'who-name', text: user.display_name || user.user_id || 'Unknown user' }),
    el('span', { class: 'who-meta' }, el('span', { class: 'sep', 'aria-hidden': 'true', text: ' · ' }), `${user.role || '?'} · ${user.organization_name || user.organization_id || ''}`),
  );
  $.whoami.title = `${user.user_id || ''} in ${user.organization_name || ''} (${user.organization_id || ''})`;
  if (status.api_key_configured === false) {
    showBanner(
      'warning',
      'model-not-configured',
      'The model is not configured: this server has no GEMINI_API_KEY. Chat messages will be answered with an error; tools, conversations and confirmations still work.',
    );
  } else if (status.model_reachable === false || status.available === false) {
    const why = status.model_error ? ` (${status.model_error})` : '';
    showBanner('info', 'model-unreachable', `The model (${status.model || 'Gemini'}) did not answer the server's check${why}. Chat may fail until it is reachable.`);
  } else {
    $.banner.hidden = true;
    $.banner.textContent = '';
  }
}

function showBanner(level, kind, text) {
  $.banner.hidden = false;
  $.banner.dataset.level = level;
  $.banner.dataset.kind = kind;
  $.banner.textContent = text;
}

// ---------------------------------------------------------------------------------------------
// Conversations

async function loadConversations({ more = false } = {}) {
  const query = new URLSearchParams({ limit: String(CONVERSATION_PAGE) });
  if (more && state.nextCursor) query.set('cursor', state.nextCursor);
  let page;
  try {
    page = await api(`/api/conversations?${query}`);
  } catch (error) {
    if (error.status !== 401) showBanner('error', 'conversations', `Could not load conversations: ${error.message}`);
    return;
  }
  const items = Array.isArray(page?.items) ? page.items : [];
  state.conversations = more ? state.conversations.concat(items) : items;
  state.nextCursor = page?.next_cursor || null;
  renderConversations();
}

function renderConversations() {
  const sorted = [...state.conversations].sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)));
  if (sorted.length === 0) {
    $.conversationList.replaceChildren(el('li', { class: 'muted', 'data-testid': 'no-conversations', text: 'No conversations yet.' }));
  } else {
    $.conversationList.replaceChildren(...sorted.map(conversationItem));
  }
  $.moreConversations.hidden = !state.nextCursor;
}

function conversationItem(conversation) {
  const current = conversation.id === state.conversationId;
  const title = conversation.title || 'Untitled';
  const count = Number(conversation.message_count) || 0;
  return el(
    'li',
    { class: current ? 'conversation current' : 'conversation', 'data-testid': 'conversation-item', 'data-conversation-id': conversation.id },
    el(
      'button',
      { type: 'button', class: 'conversation-open', 'data-testid': 'conversation-open', 'aria-current': current ? 'true' : null, onclick: () => openConversation(conversation.id) },
      el('span', { class: 'conversation-title', text: title }),
      el('span', { class: 'conversation-meta', text: `${count} message${count === 1 ? '' : 's'} · ${formatTime(conversation.updated_at)}` }),
    ),
    el(
      'div',
      { class: 'conversation-actions' },
      el('button', { type: 'button', class: 'link', 'data-testid': 'conversation-rename', 'aria-label': `Rename “${title}”`, text: 'Rename', onclick: () => renameConversation(conversation) }),
      el('button', { type: 'button', class: 'link danger', 'data-testid': 'conversation-delete', 'aria-label': `Delete “${title}”`, text: 'Delete', onclick: () => deleteConversation(conversation) }),
    ),
  );
}

async function renameConversation(conversation) {
  const title = window.prompt('New title for this conversation:', conversation.title || '');
  if (title === null || !title.trim() || title.trim() === conversation.title) return;
  try {
    await api(`/api/conversations/${encodeURIComponent(conversation.id)}`, { method: 'PATCH', body: { title: title.trim() } });
    await loadConversations();
  } catch (error) {
    if (error.status !== 401) window.alert(`Could not rename the conversation: ${error.message}`);
  }
}

async function deleteConversation(conversation) {
  if (!window.confirm(`Delete the conversation “${conversation.title || 'Untitled'}”? Its messages and the changes still waiting for confirmation are removed.`)) return;
  try {
    await api(`/api/conversations/${encodeURIComponent(conversation.id)}`, { method: 'DELETE' });
  } catch (error) {
    if (error.status === 401) return;
    if (error.status !== 404) {
      window.alert(`Could not delete the conversation: ${error.message}`);
      return;
    }
  }
  if (conversation.id === state.conversationId) newConversation();
  await loadConversations();
}

function setSidebar(open) {
  $.app.classList.toggle('show-sidebar', open);
  $.toggleConversations.setAttribute('aria-expanded', String(open));
}

function newConversation() {
  abortTurn();
  state.conversationId = null;
  $.log.replaceChildren($.emptyLog.content.cloneNode(true));
  renderConversations();
  setSidebar(false);
  $.input.focus();
}

async function openConversation(id) {
  abortTurn();
  state.conversationId = id;
  renderConversations();
  setSidebar(false);
  $.log.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
  let conversation;
  let pending;
  try {
    [conversation, pending] = await Promise.all([
      api(`/api/conversations/${encodeURIComponent(id)}?limit=${MESSAGE_LIMIT}`),
      api(`/api/actions?status=pending&conversation_id=${encodeURIComponent(id)}`).catch((error) => {
        if (error.status === 401) throw error;
        return { items: [] };
      }),
    ]);
  } catch (error) {
    if (error.status === 401 || state.conversationId !== id) return;
    $.log.replaceChildren(errorEntry(error.status === 404 ? 'This conversation no longer exists.' : `Could not open the conversation: ${error.message}`));
    if (error.status === 404) await loadConversations();
    return;
  }
  if (state.conversationId !== id) return; // another one was opened meanwhile
  renderStoredConversation(conversation, pending?.items || []);
  $.input.focus();
}

function renderStoredConversation(conversation, pendingActions) {
  $.log.replaceChildren();
  if (conversation.has_more) $.log.append(el('p', { class: 'note', text: 'Older messages are not shown.' }));
  const chips = []; // chips without a response yet, in order
  const chipsByAction = new Map();
  for (const message of conversation.messages || []) {
    const parts = Array.isArray(message.parts) ? message.parts : [];
    if (message.role === 'user') {
      const text = parts.filter((p) => typeof p.text === 'string').map((p) => p.text).join('\n');
      if (text) $.log.append(userEntry(text));
    } else if (message.role === 'model') {
      let text = '';
      const flushText = () => {
        if (text.trim()) $.log.append(assistantEntry(text).entry);
        text = '';
      };
      for (const part of parts) {
        if (typeof part.text === 'string' && part.thought !== true) text += part.text;
        else if (part.functionCall) {
          flushText();
          const chip = toolChip(part.functionCall.name, part.functionCall.args, part.functionCall.id);
          setChip(chip, 'unknown', '');
          chips.push(chip);
          $.log.append(chip);
        }
      }
      flushText();
    } else if (message.role === 'tool') {
      for (const part of parts) {
        const response = part.functionResponse;
        if (!response) continue;
        const index = chips.findIndex((chip) => (response.id && chip.dataset.callId === response.id) || (!response.id && chip.dataset.tool === response.name));
        let chip;
        if (index >= 0) chip = chips.splice(index, 1)[0];
        else {
          chip = toolChip(response.name, undefined, response.id);
          $.log.append(chip);
        }
        const outcome = responseOutcome(response.response);
        setChip(chip, outcome.status, outcome.summary);
        if (outcome.actionId) chipsByAction.set(outcome.actionId, chip);
      }
    } else if (message.role === 'system') {
      const text = parts.filter((p) => typeof p.text === 'string').map((p) => p.text).join('\n');
      if (text) $.log.append(noteEntry(text.replace(/^\[crm-agent note\]\s*/, '')));
    }
  }
  for (const action of pendingActions) {
    const card = confirmationCard({ action_id: action.id, tool: action.tool, args: action.arguments, summary: action.summary, expires_at: action.expires_at });
    const chip = chipsByAction.get(action.id);
    if (chip) chip.after(card);
    else $.log.append(card);
  }
  if (!$.log.firstChild) $.log.append($.emptyLog.content.cloneNode(true));
  scrollToEnd(true);
}

// ---------------------------------------------------------------------------------------------
// Log entries

function nearEnd() {
  return $.log.scrollHeight - $.log.scrollTop - $.log.clientHeight < 80;
}

function scrollToEnd(force = false) {
  if (force || nearEnd()) $.log.scrollTop = $.log.scrollHeight;
}

function append(node) {
  const stick = nearEnd();
  const empty = $.log.querySelector('[data-testid="empty-conversation"]');
  if (empty) empty.remove();
  $.log.append(node);
  if (stick) scrollToEnd(true);
  return node;
}

function userEntry(text) {
  return el('div', { class: 'entry user', 'data-testid': 'user-message' }, el('span', { class: 'visually-hidden', text: 'You said:' }), el('div', { class: 'bubble', text }));
}

function assistantEntry(text = '') {
  const body = el('div', { class: 'bubble markdown' });
  body.innerHTML = renderMarkdown(text); // renderMarkdown escapes all text
  const entry = el('div', { class: 'entry assistant', 'data-testid': 'assistant-message' }, el('span', { class: 'visually-hidden', text: 'Assistant:' }), body);
  return { entry, body };
}

function noteEntry(text) {
  const short = text.length > 180 ? `${text.slice(0, 179)}…` : text;
  const note = el('div', { class: 'entry note', 'data-testid': 'system-note' });
  if (short === text) note.append(el('p', { text }));
  else note.append(el('details', {}, el('summary', { text: short }), el('p', { class: 'note-full', text })));
  return note;
}

const ERROR_HELP = {
  model_not_configured: 'The model is not configured on this server (GEMINI_API_KEY is missing), so the assistant cannot answer. Tools, conversations and confirmations still work.',
  rate_limited: 'Too many messages in a short time.',
  step_limit: 'The assistant needed too many steps for this request and stopped. Try a more specific question.',
  blocked: 'The model refused to answer this message.',
};

function errorEntry(message, code) {
  const entry = el('div', { class: 'entry error', role: 'alert', 'data-testid': 'error-message', 'data-code': code || null });
  // The server's message says what happened; the page's own words only fill in when it is empty.
  const text = message || ERROR_HELP[code] || 'Something went wrong.';
  entry.append(el('p', { class: 'error-detail', text }));
  return entry;
}

const CHIP_LABELS = { running: 'running', ok: 'done', failed: 'failed', pending: 'waiting for confirmation', unknown: 'no result' };

function toolChip(name, args, callId) {
  const chip = el(
    'div',
    { class: 'entry chip', 'data-testid': 'tool-chip', 'data-tool': name || 'tool', 'data-call-id': callId || null, 'data-status': 'running' },
    el('span', { class: 'chip-icon', 'aria-hidden': 'true' }),
    el('span', { class: 'visually-hidden', text: 'Tool call:' }),
    el('span', { class: 'chip-name', 'data-testid': 'tool-chip-name', text: name || 'tool' }),
    args !== undefined ? el('code', { class: 'chip-args', 'data-testid': 'tool-chip-args', title: prettyJson(args), text: compactJson(args, 120) }) : null,
    el('span', { class: 'chip-state', 'data-testid': 'tool-chip-state', text: CHIP_LABELS.running }),
    el('span', { class: 'chip-summary', 'data-testid': 'tool-chip-summary' }),
  );
  return chip;
}

function setChip(chip, status, summary) {
  chip.dataset.status = status;
  chip.querySelector('.chip-state').textContent = CHIP_LABELS[status] || status;
  chip.querySelector('.chip-summary').textContent = summary || '';
}

// ---------------------------------------------------------------------------------------------
// Confirmation cards

function confirmationCard(event) {
  const expires = new Date(event.expires_at);
  const card = el('section', { class: 'entry card confirm', 'data-testid': 'confirmation-card', 'data-action-id': event.action_id, 'data-state': 'pending', 'aria-label': 'Change waiting for your confirmation' });
  const outcome = el('p', { class: 'outcome', role: 'status', 'data-testid': 'confirmation-outcome' });
  const confirmButton = el('button', { type: 'button', class: 'primary', 'data-testid': 'confirm-button', text: 'Confirm' });
  const rejectButton = el('button', { type: 'button', class: 'secondary', 'data-testid': 'reject-button', text: 'Reject' });
  const setState = (stateName, text) => {
    card.dataset.state = stateName;
    outcome.textContent = text;
  };
  const disable = () => {
    confirmButton.disabled = true;
    rejectButton.disabled = true;
  };
  const decide = async (what) => {
    if (card.dataset.state !== 'pending') return;
    disable();
    setState('working', what === 'confirm' ? 'Running…' : 'Rejecting…');
    try {
      const answer = await api(`/api/actions/${encodeURIComponent(event.action_id)}/${what}`, { method: 'POST' });
      if (what === 'confirm') setState('succeeded', `Done: ${resultSummary(answer?.result)}`);
      else setState('rejected', 'Rejected: nothing was changed.');
    } catch (error) {
      if (error.status === 401) return;
      if (error.status === 409) setState('conflict', `This action can no longer be ${what}ed: it was already decided or it expired. (${error.message})`);
      else if (error.status === 404) setState('failed', 'This action no longer exists.');
      else setState('failed', `${what === 'confirm' ? 'It failed' : 'Could not reject it'}: ${error.message}`);
    }
  };
  confirmButton.addEventListener('click', () => decide('confirm'));
  rejectButton.addEventListener('click', () => decide('reject'));

  card.append(
    el('h3', { class: 'card-title', text: 'Confirm this change?' }),
    el('p', { class: 'card-summary', 'data-testid': 'confirmation-summary', text: event.summary || event.tool }),
    el(
      'dl',
      { class: 'card-details' },
      el('dt', { text: 'Tool' }),
      el('dd', {}, el('code', { 'data-testid': 'confirmation-tool', text: event.tool })),
      el('dt', { text: 'Arguments' }),
      el('dd', {}, el('pre', { class: 'args', 'data-testid': 'confirmation-args', text: prettyJson(event.args) })),
    ),
    Number.isNaN(expires.getTime()) ? null : el('p', { class: 'hint', text: `Expires at ${formatTime(event.expires_at, false)}. Nothing changes until you confirm.` }),
    el('div', { class: 'card-actions' }, confirmButton, rejectButton),
    outcome,
  );
  if (!Number.isNaN(expires.getTime())) {
    const expire = () => {
      if (card.dataset.state === 'pending') {
        disable();
        setState('expired', 'This request expired; ask the assistant again if you still want it.');
      }
    };
    const left = expires.getTime() - Date.now();
    if (left <= 0) expire();
    else if (left < 2 ** 31 - 1) setTimeout(expire, left);
  }
  return card;
}

// ---------------------------------------------------------------------------------------------
// Chat

function setBusy(busy) {
  $.send.disabled = busy;
  $.log.dataset.busy = String(busy);
  $.log.setAttribute('aria-busy', String(busy));
  $.send.textContent = busy ? 'Working…' : 'Send';
}

function abortTurn() {
  if (state.turn) {
    state.turn.aborted = true;
    state.turn.controller.abort();
    state.turn = null;
    setBusy(false);
  }
}

async function sendMessage(message) {
  if (state.turn || !message.trim()) return;
  const turn = { controller: new AbortController(), bubble: null, text: '', chips: new Map(), finished: false, aborted: false, renderQueued: false };
  state.turn = turn;
  setBusy(true);
  append(userEntry(message));
  $.input.value = '';

  const body = { message };
  if (state.conversationId) body.conversation_id = state.conversationId;
  try {
    const response = await api('/api/chat', { method: 'POST', body, signal: turn.controller.signal, raw: true });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser((event) => handleSse(turn, event));
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
      if (turn.finished) {
        reader.cancel().catch(() => {});
        break;
      }
    }
    parser.end();
    if (!turn.finished && !turn.aborted) append(errorEntry('The connection closed before the answer was complete. What was finished is kept in the conversation.', 'disconnected'));
  } catch (error) {
    if (turn.aborted || error.name === 'AbortError' || error.status === 401) return;
    if (error instanceof ApiError) {
      let text = error.message;
      if (error.status === 429 && error.retryAfter) text = `${ERROR_HELP.rate_limited} Try again in ${error.retryAfter} s.`;
      else if (error.status === 404) text = `${error.message}. Start a new conversation.`;
      append(errorEntry(text, error.code));
    } else {
      append(errorEntry(`Could not reach the server: ${error.message}`, 'network'));
    }
  } finally {
    finishTurn(turn);
  }
}

function finishTurn(turn) {
  renderTurnText(turn);
  if (turn.bubble) turn.bubble.body.removeAttribute('aria-busy');
  for (const chip of turn.chips.values()) if (chip.dataset.status === 'running') setChip(chip, 'unknown', '');
  if (state.turn === turn) {
    state.turn = null;
    setBusy(false);
    if (!turn.aborted) {
      loadConversations();
      $.input.focus();
    }
  }
}

function renderTurnText(turn) {
  turn.renderQueued = false;
  if (turn.bubble) {
    turn.bubble.body.innerHTML = renderMarkdown(turn.text); // escaped by renderMarkdown
    scrollToEnd();
  }
}

function handleSse(turn, sse) {
  if (turn.aborted) return;
  let event;
  try {
    event = JSON.parse(sse.data);
  } catch {
    return; // not ours
  }
  const type = event.type || sse.event;
  switch (type) {
    case 'started':
      if (event.conversation_id && event.conversation_id !== state.conversationId) {
        state.conversationId = event.conversation_id;
        loadConversations();
      }
      break;
    case 'text': {
      if (!turn.bubble) {
        turn.bubble = assistantEntry('');
        turn.bubble.body.setAttribute('aria-busy', 'true');
        turn.text = '';
        append(turn.bubble.entry);
      }
      turn.text += event.delta || '';
      if (!turn.renderQueued) {
        turn.renderQueued = true;
        requestAnimationFrame(() => renderTurnText(turn));
      }
      break;
    }
    case 'tool_call': {
      closeBubble(turn);
      const chip = toolChip(event.name, event.args, event.id);
      turn.chips.set(event.id || `chip_${turn.chips.size}`, chip);
      append(chip);
      break;
    }
    case 'tool_result': {
      let chip = event.id ? turn.chips.get(event.id) : null;
      if (!chip) {
        closeBubble(turn);
        chip = append(toolChip(event.name, undefined, event.id));
      }
      setChip(chip, event.ok ? 'ok' : 'failed', event.summary);
      break;
    }
    case 'confirmation_required': {
      closeBubble(turn);
      const chip = [...turn.chips.values()].reverse().find((c) => c.dataset.tool === event.tool && c.dataset.status === 'running');
      if (chip) setChip(chip, 'pending', '');
      append(confirmationCard(event));
      break;
    }
    case 'done':
      turn.finished = true;
      break;
    case 'error':
      closeBubble(turn);
      turn.finished = true;
      append(errorEntry(event.message, event.code));
      break;
    default:
      break; // unknown events are ignored (forward compatible)
  }
}

/** Text after a tool chip or card goes into a new bubble, so the log keeps the order. */
function closeBubble(turn) {
  if (turn.bubble) {
    renderTurnText(turn);
    turn.bubble.body.removeAttribute('aria-busy');
  }
  turn.bubble = null;
  turn.text = '';
}

// ---------------------------------------------------------------------------------------------
// Start

function init() {
  bindDom();
  $.tokenForm.addEventListener('submit', (event) => {
    event.preventDefault();
    signIn($.tokenInput.value);
  });
  $.signOut.addEventListener('click', () => signOut('You are signed out.'));
  $.newConversation.addEventListener('click', () => newConversation());
  $.moreConversations.addEventListener('click', () => loadConversations({ more: true }));
  $.toggleConversations.addEventListener('click', () => setSidebar(!$.app.classList.contains('show-sidebar')));
  $.chatForm.addEventListener('submit', (event) => {
    event.preventDefault();
    sendMessage($.input.value);
  });
  $.input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (!state.turn) $.chatForm.requestSubmit();
    }
  });
  state.token = sessionStorage.getItem(TOKEN_KEY);
  if (state.token) enterApp();
  else showSignin('');
}

if (typeof document !== 'undefined') {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
}
