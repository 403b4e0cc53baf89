// The el() helper, the page's element references and the entries of the chat log.
// Text only ever reaches the page as textContent or through renderMarkdown().

import { compactJson, prettyJson } from './format.js';
import { renderMarkdown } from './markdown.js';

// ---------------------------------------------------------------------------------------------
// Elements

/** Creates an element: attributes (`class`, `text`, `data-*`, aria, on* handlers) and children. */
export function el(tag, attrs = {}, ...children) {
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

// ---------------------------------------------------------------------------------------------
// DOM references

export let $;

export function bindDom() {
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
// Log entries

function nearEnd() {
  return $.log.scrollHeight - $.log.scrollTop - $.log.clientHeight < 80;
}

export function scrollToEnd(force = false) {
  if (force || nearEnd()) $.log.scrollTop = $.log.scrollHeight;
}

export function append(node) {
  const stick = nearEnd();
  const empty = $.log.querySelector('[data-testid="empty-conversation"]');
  if (empty) empty.remove();
  $.log.append(node);
  if (stick) scrollToEnd(true);
  return node;
}

export function userEntry(text) {
  return el('div', { class: 'entry user', 'data-testid': 'user-message' }, el('span', { class: 'visually-hidden', text: 'You said:' }), el('div', { class: 'bubble', text }));
}

export function assistantEntry(text = '') {
  const body = el('div', { class: 'bubble markdown' });
  body.innerHTML = renderMarkdown(text); // renderMarkdown escapes all text
  const entry = el('div', { class: 'entry assistant', 'data-testid': 'assistant-message' }, el('span', { class: 'visually-hidden', text: 'Assistant:' }), body);
  return { entry, body };
}

export function noteEntry(text) {
  const short = text.length > 180 ? `${text.slice(0, 179)}…` : text;
  const note = el('div', { class: 'entry note', 'data-testid': 'system-note' });
  if (short === text) note.append(el('p', { text }));
  else note.append(el('details', {}, el('summary', { text: short }), el('p', { class: 'note-full', text })));
  return note;
}

export const ERROR_HELP = {
  model_not_configured: 'The model is not configured on this server (GEMINI_API_KEY is missing), so the assistant cannot answer. Tools, conversations and confirmations still work.',
  rate_limited: 'Too many messages in a short time.',
  step_limit: 'The assistant needed too many steps for this request and stopped. Try a more specific question.',
  blocked: 'The model refused to answer this message.',
};

export function errorEntry(message, code) {
  const entry = el('div', { class: 'entry error', role: 'alert', 'data-testid': 'error-message', 'data-code': code || null });
  // The server's message says what happened; the page's own words only fill in when it is empty.
  const text = message || ERROR_HELP[code] || 'Something went wrong.';
  entry.append(el('p', { class: 'error-detail', text }));
  return entry;
}

const CHIP_LABELS = { running: 'running', ok: 'done', failed: 'failed', pending: 'waiting for confirmation', unknown: 'no result' };

export function toolChip(name, args, callId) {
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

export function setChip(chip, status, summary) {
  chip.dataset.status = status;
  chip.querySelector('.chip-state').textContent = CHIP_LABELS[status] || status;
  chip.querySelector('.chip-summary').textContent = summary || '';
}
