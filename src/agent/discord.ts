// Approvals over Discord (discord.js): the bot sends its owner (DISCORD_USER_ID) a direct message with the action,
// its risk level, the findings, the review and the code or diff, reacts 👍 and 👎 on it, and the owner's reaction
// answers the approval. Anyone else's reaction is ignored. When the approval is settled elsewhere (the HTTP API, the
// timeout), the bot says so in the same conversation; it also posts when a task starts and how it ended.

import type { Client, DMChannel, Message } from 'discord.js';
import { HearthError } from '../util/errors.ts';
import type { ApprovalRow } from '../store/agent.ts';
import type { ApprovalChannel, ApprovalRequest } from './approvals.ts';

export const APPROVE = '👍';
export const DENY = '👎';
const MAX_MESSAGE = 2000;

export interface DiscordOptions {
  /** The bot's token (DISCORD_BOT_TOKEN). */
  token: string;
  /** The one user whose reactions count (DISCORD_USER_ID). */
  userId: string;
  /** Discord's REST API base (default https://discord.com/api); the gateway's address comes from GET /gateway/bot. */
  apiBase?: string;
  log?: (msg: string) => void;
}

/** The options from the environment: DISCORD_BOT_TOKEN and DISCORD_USER_ID (both, or neither), DISCORD_API_BASE. */
export function discordOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DiscordOptions | undefined {
  const token = env.DISCORD_BOT_TOKEN;
  const userId = env.DISCORD_USER_ID;
  if (!token && !userId) return undefined;
  if (!token || !userId) throw new HearthError('invalid_argument', 'Discord approvals need both DISCORD_BOT_TOKEN and DISCORD_USER_ID');
  if (!/^\d{5,20}$/.test(userId)) throw new HearthError('invalid_argument', `DISCORD_USER_ID must be a Discord user id (digits); got ${JSON.stringify(userId)}`);
  return { token, userId, ...(env.DISCORD_API_BASE ? { apiBase: env.DISCORD_API_BASE } : {}) };
}

const cut = (s: string, n: number) => (s.length > n ? s.slice(0, n) + '…' : s);
const fence = (s: string, lang = '') => '```' + lang + '\n' + s.replaceAll('```', '`\u200b``') + '\n```';

/** The message a person reads: what, how risky and why, what the reviewer said, the code or diff; at most 2000 characters. */
export function approvalMessage(a: ApprovalRow, userId: string): string {
  const r = a.request as unknown as ApprovalRequest;
  const findings = r.risk.findings.length ? r.risk.findings.map((f) => `• ${f.rule} (line ${f.line}): ${cut(f.reason, 160)}`).join('\n') : '• none';
  const head = [
    `**Approval needed: ${r.risk.level}** · ${a.id}`,
    `Task: ${cut(r.task, 200)}`,
    `Action: ${cut(r.action.summary, 200)}`,
    `Findings:\n${findings}`,
    r.review ? `Review by ${r.review.model}: **${r.review.verdict}** (${cut(r.review.reasons.join('; '), 200)})` : 'Review: none',
  ].join('\n');
  const tail = `React ${APPROVE} to approve or ${DENY} to deny (only <@${userId}> counts). No answer by <t:${Math.floor(a.expiresAt / 1000)}:T> denies it.`;
  const room = MAX_MESSAGE - head.length - tail.length - 40;
  const body = r.action.diff ?? r.action.code;
  const shown = body && room > 50 ? '\n' + fence(cut(body, room), r.action.diff ? 'diff' : (r.action.language === 'node' ? 'js' : r.action.language ?? '')) : '';
  return cut(`${head}${shown}\n${tail}`, MAX_MESSAGE);
}

/** A logged-in bot as an approval channel; rejects (the token refused, Discord unreachable) before it is one. */
export async function discordApprovals(o: DiscordOptions): Promise<ApprovalChannel & { readonly client: Client }> {
  // discord.js is loaded only when Discord is configured
  const { Client, GatewayIntentBits, Partials } = await import('discord.js');
  const client = new Client({
    intents: [GatewayIntentBits.DirectMessages, GatewayIntentBits.DirectMessageReactions],
    partials: [Partials.Channel, Partials.Message, Partials.Reaction, Partials.User],
    ...(o.apiBase ? { rest: { api: o.apiBase } } : {}),
  });
  const log = o.log ?? (() => undefined);
  // message id → the approval it asks about, and how to answer it
  const asked = new Map<string, { approvalId: string; answer: (approved: boolean, by: string) => boolean; dm: DMChannel }>();
  const byApproval = new Map<string, string>();

  client.on('messageReactionAdd', (reaction, user) => {
    const entry = asked.get(reaction.message.id);
    if (!entry || user.id !== o.userId) return; // only the configured user's reaction on our message counts
    const name = reaction.emoji.name;
    if (name !== APPROVE && name !== DENY) return;
    entry.answer(name === APPROVE, `discord:${user.id}`);
  });
  client.on('error', (e) => log(`discord: ${e.message}`));

  try {
    await client.login(o.token);
  } catch (e) {
    await client.destroy();
    throw new HearthError('unavailable', `cannot log in to Discord: ${(e as Error).message}`, { cause: e });
  }
  let dm: DMChannel | undefined;
  const channel = async () => (dm ??= await (await client.users.fetch(o.userId)).createDM());

  return {
    name: 'discord',
    client,
    async ask(a, answer) {
      const to = await channel();
      const msg: Message = await to.send({ content: approvalMessage(a, o.userId), allowedMentions: { users: [o.userId] } });
      asked.set(msg.id, { approvalId: a.id, answer, dm: to });
      byApproval.set(a.id, msg.id);
      await msg.react(APPROVE);
      await msg.react(DENY);
    },
    settled(a) {
      const id = byApproval.get(a.id);
      if (!id) return;
      const entry = asked.get(id)!;
      asked.delete(id);
      byApproval.delete(a.id);
      const how = a.status === 'expired' ? `expired (${a.decidedBy ?? 'timeout'}): denied` : `${a.status} by ${a.decidedBy}`;
      entry.dm.send({ content: `${a.id}: ${how}`, reply: { messageReference: id, failIfNotExists: false } })
        .catch((e: Error) => log(`discord: ${e.message}`));
    },
    status(text) {
      channel().then((to) => to.send({ content: cut(text, MAX_MESSAGE), allowedMentions: { parse: [] } }))
        .catch((e: Error) => log(`discord: ${e.message}`));
    },
    async close() {
      await client.destroy();
    },
  };
}
