// crm-agent web chat, the entry module: sign-in, status, conversations, streaming chat (SSE over
// fetch) and confirmation cards. No framework, no build step: the browser loads the modules this
// one imports (api, dom, format, markdown, sse) from /assets/ as they are.
//
// Safety rule for every module of the page: text from the model, the store or the server is only
// ever put into the page with textContent, or through renderMarkdown(), which escapes everything
// first.

import { ApiError, api } from './api.js';
import { $, ERROR_HELP, append, assistantEntry, bindDom, el, errorEntry, noteEntry, scrollToEnd, setChip, toolChip, userEntry } from './dom.js';
import { formatTime, prettyJson, responseOutcome, resultSummary } from './format.js';
import { renderMarkdown } from './markdown.js';
import { SseParser } from './sse.js';

const TOKEN_KEY = 'crm-agent.token';
const CONVERSATION_PAGE = 50;
const MESSAGE_LIMIT = 200;

export const state = {
  token: null,
  status: null,
  conversationId: null,
  conversations: [],
  nextCursor: null,
  turn: null, // the running chat turn
  demoUsers: null,
};

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

export function signOut(message) {
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
