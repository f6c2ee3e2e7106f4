// A stand-in for Discord on 127.0.0.1, speaking the subset of its documented API (v10) that discord.js uses to log
// in, open a direct message, post and react, and hear reactions:
//   REST  GET /api/v10/gateway/bot, GET /api/v10/users/{id}, POST /api/v10/users/@me/channels,
//         POST /api/v10/channels/{id}/messages, PUT …/messages/{id}/reactions/{emoji}/@me
//   WebSocket gateway (JSON, no compression): HELLO (op 10), heartbeats (op 1 → op 11), IDENTIFY (op 2) → READY,
//         and MESSAGE_REACTION_ADD dispatches the test sends with react().
// Requests must carry `Authorization: Bot <token>`; anything else is a 401, as Discord answers.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export const BOT_ID = '100000000000000001';

export interface PostedMessage {
  id: string;
  channelId: string;
  content: string;
  reactions: string[];
}

export interface DiscordStandIn {
  /** The REST base for discord.js's `rest.api` (…/api). */
  apiBase: string;
  token: string;
  messages: PostedMessage[];
  /** Identify payloads received (one per login). */
  identified: Record<string, unknown>[];
  /** A user's reaction on a message, sent to every connected bot as MESSAGE_REACTION_ADD. */
  react(userId: string, messageId: string, emoji: string): void;
  /** Resolves when a message matching `test` has been posted; rejects after `ms` (default 10 s). */
  waitForMessage(test: (m: PostedMessage) => boolean, ms?: number): Promise<PostedMessage>;
  close(): Promise<void>;
}

let nextId = 200000000000000000n;
const snowflake = () => String(nextId++);

export async function startDiscordStandIn(token = 'standin-token'): Promise<DiscordStandIn> {
  const messages: PostedMessage[] = [];
  const identified: Record<string, unknown>[] = [];
  const sockets = new Set<WebSocket>();
  const waiters: { test: (m: PostedMessage) => boolean; resolve: (m: PostedMessage) => void }[] = [];
  const users = new Map<string, Record<string, unknown>>();
  const user = (id: string) => users.get(id) ?? { id, username: `user${id.slice(-4)}`, discriminator: '0', global_name: null, avatar: null, bot: id === BOT_ID };
  const channels = new Map<string, { id: string; type: number; recipients: Record<string, unknown>[] }>();
  let seq = 0;
  let base = '';

  const json = (res: ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const readBody = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? JSON.parse(text) as Record<string, unknown> : {};
  };
  const dispatch = (t: string, d: unknown) => {
    for (const ws of sockets) ws.send(JSON.stringify({ op: 0, t, s: ++seq, d }));
  };

  const server: Server = createServer(async (req, res) => {
    if (req.headers.authorization !== `Bot ${token}`) return json(res, 401, { message: '401: Unauthorized', code: 0 });
    const url = new URL(req.url!, 'http://x');
    const path = url.pathname.replace(/^\/api\/v\d+/, '');
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && path === '/gateway/bot') {
      return json(res, 200, { url: `${base.replace('http', 'ws')}/gateway`, shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 } });
    }
    if (req.method === 'GET' && (m = /^\/users\/(\d+)$/.exec(path))) return json(res, 200, user(m[1]!));
    if (req.method === 'POST' && path === '/users/@me/channels') {
      const body = await readBody(req);
      const recipient = String(body.recipient_id);
      const existing = [...channels.values()].find((c) => c.recipients[0]!.id === recipient);
      const ch = existing ?? { id: snowflake(), type: 1, recipients: [user(recipient)] };
      channels.set(ch.id, ch);
      return json(res, 200, { ...ch, last_message_id: null, flags: 0 });
    }
    if (req.method === 'POST' && (m = /^\/channels\/(\d+)\/messages$/.exec(path))) {
      const body = await readBody(req);
      const msg: PostedMessage = { id: snowflake(), channelId: m[1]!, content: String(body.content ?? ''), reactions: [] };
      messages.push(msg);
      for (const w of [...waiters]) if (w.test(msg)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(msg); }
      return json(res, 200, {
        id: msg.id, channel_id: msg.channelId, author: user(BOT_ID), content: msg.content, timestamp: new Date().toISOString(), edited_timestamp: null,
        tts: false, mention_everyone: false, mentions: [], mention_roles: [], attachments: [], embeds: [], pinned: false, type: 0, flags: 0, components: [],
      });
    }
    if (req.method === 'PUT' && (m = /^\/channels\/(\d+)\/messages\/(\d+)\/reactions\/([^/]+)\/@me$/.exec(path))) {
      const msg = messages.find((x) => x.id === m![2]);
      if (!msg) return json(res, 404, { message: 'Unknown Message', code: 10008 });
      msg.reactions.push(decodeURIComponent(m[3]!));
      return json(res, 204);
    }
    json(res, 404, { message: `404: Not Found (${req.method} ${path})`, code: 0 });
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (!req.url?.startsWith('/gateway')) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41250 } }));
      ws.on('message', (raw) => {
        const p = JSON.parse(String(raw)) as { op: number; d: Record<string, unknown> };
        if (p.op === 1) ws.send(JSON.stringify({ op: 11 }));
        else if (p.op === 2) {
          if (p.d.token !== token) return ws.close(4004, 'Authentication failed.');
          identified.push(p.d);
          ws.send(JSON.stringify({
            op: 0, t: 'READY', s: ++seq, d: {
              v: 10, user: user(BOT_ID), guilds: [], session_id: 'standin-session', resume_gateway_url: `${base.replace('http', 'ws')}/gateway`,
              application: { id: BOT_ID, flags: 0 }, shard: [0, 1],
            },
          }));
        }
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiBase: `${base}/api`, token, messages, identified,
    react(userId, messageId, emoji) {
      const msg = messages.find((x) => x.id === messageId);
      if (!msg) throw new Error(`no message ${messageId}`);
      dispatch('MESSAGE_REACTION_ADD', { user_id: userId, channel_id: msg.channelId, message_id: messageId, emoji: { id: null, name: emoji }, burst: false, type: 0 });
    },
    waitForMessage(test, ms = 10_000) {
      const have = messages.find(test);
      if (have) return Promise.resolve(have);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such message was posted in ${ms} ms; posted: ${JSON.stringify(messages.map((m) => m.content.slice(0, 80)))}`)), ms);
        waiters.push({ test, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
