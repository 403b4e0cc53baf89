// An Express 5 application that embeds the crm-agent assistant.
//
// The application keeps its own (deliberately simple) authentication: a bearer token maps to
// one of its users. crm-agent never sees the token; it gets a context built from the user the
// application authenticated. Routes:
//
//   GET  /api/status                      the model, the user, how many tools
//   POST /api/chat  {message, conversation_id?}   the turn as Server-Sent Events
//   GET  /api/conversations               the user's conversations
//   GET  /api/conversations/:id           one conversation with its messages
//   POST /api/actions/:id/confirm         run a write the assistant proposed
//   POST /api/actions/:id/reject          discard it

import express from 'express';
import { CrmAgentError, sseEncode } from 'crm-agent';

/** HTTP status of each crm-agent error code. */
const STATUS = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNSUPPORTED: 501,
  UNAVAILABLE: 503,
};

/**
 * The application. `users` maps a bearer token to the application's user:
 * `{ userId, organization? }`; the crm-agent context is resolved from the agent's store.
 */
export function createApp({ agent, users }) {
  const app = express();
  app.use(express.json({ limit: '64kb' }));

  // The application's own authentication, then the assistant's context for that user.
  const contexts = new Map();
  app.use('/api', async (req, res, next) => {
    const token = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
    const user = token && users.get(token);
    if (!user) {
      res.status(401).json({ error: 'sign in first', code: 'UNAUTHENTICATED' });
      return;
    }
    let ctx = contexts.get(token);
    if (!ctx) {
      ctx = await agent.resolveContext(user.userId, { organization: user.organization });
      contexts.set(token, ctx);
    }
    req.ctx = ctx;
    next();
  });

  app.get('/api/status', async (req, res) => {
    res.json(await agent.status(req.ctx));
  });

  app.post('/api/chat', async (req, res) => {
    const { message, conversation_id: conversationId } = req.body ?? {};
    if (typeof message !== 'string') {
      res.status(400).json({ error: '`message` must be a string', code: 'INVALID_ARGUMENT' });
      return;
    }
    // A client that goes away cancels the turn.
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const turn = agent.chat(req.ctx, message, { conversationId, signal: abort.signal });
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    for await (const event of turn) {
      res.write(sseEncode(event));
    }
    res.end();
  });

  app.get('/api/conversations', async (req, res) => {
    const limit = req.query.limit === undefined ? undefined : Number(req.query.limit);
    res.json(await agent.conversations(req.ctx, { limit, cursor: req.query.cursor }));
  });

  app.get('/api/conversations/:id', async (req, res) => {
    res.json(await agent.conversation(req.ctx, req.params.id));
  });

  app.post('/api/actions/:id/confirm', async (req, res) => {
    res.json(await agent.confirm(req.ctx, req.params.id));
  });

  app.post('/api/actions/:id/reject', async (req, res) => {
    res.json(await agent.reject(req.ctx, req.params.id));
  });

  // Express 5 sends rejected handlers here.
  app.use((error, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (error instanceof CrmAgentError) {
      res.status(STATUS[error.code] ?? 500).json({ error: error.message, code: error.code });
      return;
    }
    if (error?.type === 'entity.parse.failed') {
      res.status(400).json({ error: 'the body is not JSON', code: 'INVALID_ARGUMENT' });
      return;
    }
    console.error(error);
    res.status(500).json({ error: 'internal error', code: 'INTERNAL' });
  });

  return app;
}
