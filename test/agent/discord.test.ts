// Approval over Discord: discord.js logs in to a stand-in Discord on loopback (test/agent/discord-standin.ts), the
// assistant's HIGH action is sent to the owner as a direct message with its level, findings and code, a stranger's
// 👍 does nothing, the owner's 👍 approves it (the HTTP API then finds it answered), and the program runs and is
// committed with the owner as approver. A bot token Discord refuses is an error before anything is asked.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDiscordStandIn, BOT_ID, type DiscordStandIn } from './discord-standin.ts';
import { MODEL, runTaskOverHttp, startAgentServer, trailersOf, type AgentServer } from './harness.ts';
import { APPROVE, DENY, discordApprovals } from '../../src/agent/discord.ts';
import { HearthError } from '../../src/util/errors.ts';

const OWNER = '300000000000000042';
const STRANGER = '300000000000000099';
const FETCH = 'open("ran.txt", "w").write("ran\\n")\nimport urllib.request\ntry:\n    urllib.request.urlopen("http://127.0.0.1:9/", timeout=2)\n' +
  'except Exception as e:\n    print("no network:", type(e).__name__)\n';

let discord: DiscordStandIn;
let s: AgentServer;
before(async () => {
  discord = await startDiscordStandIn();
  const channel = await discordApprovals({ token: discord.token, userId: OWNER, apiBase: discord.apiBase });
  s = await startAgentServer({ channels: [channel] });
});
after(async () => {
  await s?.close(); // closes the bot too
  await discord?.close();
});

const until = async (ok: () => boolean, what: string, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('a HIGH action is posted to the owner on Discord; a stranger\'s reaction is ignored, the owner\'s 👍 approves it', async () => {
  assert.equal(discord.identified.length, 1, 'the bot logged in through the gateway');
  let posted;
  const events = await runTaskOverHttp(s.base, s.admin, {
    task: 'check whether the network is there', model: MODEL, workspace: 'discord', seed: 2,
    script: [{ tool: 'run_code', arguments: { language: 'python', code: FETCH } }, { tool: 'finish', arguments: { summary: 'checked' } }],
  }, async (e) => {
    if (e.event !== 'approval_wait') return;
    const id = String(e.data.approvalId);
    const msg = await discord.waitForMessage((m) => m.content.includes(id));
    posted = msg;
    await until(() => msg.reactions.length === 2, 'the bot\'s two reactions');
    assert.deepEqual(msg.reactions, [APPROVE, DENY]);

    discord.react(STRANGER, msg.id, APPROVE);
    discord.react(BOT_ID, msg.id, APPROVE);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(s.store.agent.approval(id)!.status, 'pending', 'only the configured user counts');

    discord.react(OWNER, msg.id, APPROVE);
    await until(() => s.store.agent.approval(id)!.status !== 'pending', 'the owner\'s answer');
    const res = await fetch(`${s.base}/api/v1/approvals/${id}`, {
      method: 'POST', headers: { authorization: `Bearer ${s.admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'deny' }),
    });
    assert.equal(res.status, 409, 'the first answer won');
  });
  assert.ok(posted);
  const content = (posted as { content: string }).content;
  assert.match(content, /Approval needed: HIGH/);
  assert.match(content, /py\.network-import \(line 2\): imports urllib\.request/);
  assert.match(content, /urllib\.request\.urlopen\("http:\/\/127\.0\.0\.1:9\/"/, 'the code is in the message');
  assert.match(content, new RegExp(`only <@${OWNER}> counts`));
  assert.ok(content.length <= 2000);

  const decision = events.find((e) => e.event === 'decision')!.data;
  assert.deepEqual([decision.action, decision.by], ['run', `human:discord:${OWNER}`]);
  const taskId = String(events[0]!.data.taskId);
  assert.deepEqual(s.store.agent.approvalsOfTask(taskId).map((a) => [a.status, a.decidedBy, a.channel]), [['approved', `discord:${OWNER}`, 'discord']]);
  const ws = events[0]!.data.workspace as string;
  assert.equal(readFileSync(join(ws, 'ran.txt'), 'utf8'), 'ran\n');
  assert.equal(trailersOf(ws)[0]!['Hearth-Approved-By'], `human:discord:${OWNER}`);
  // the bot tells the conversation how it ended, and how the task went
  await discord.waitForMessage((m) => m.content.includes('approved by discord:'));
  await discord.waitForMessage((m) => m.content.startsWith(`${taskId} started in ${ws}: check whether the network is there`));
  await discord.waitForMessage((m) => m.content.startsWith(`${taskId} done, 1 commit(s): Plan: `));
});

test('the owner\'s 👎 on Discord denies the action: nothing runs', async () => {
  const events = await runTaskOverHttp(s.base, s.admin, {
    task: 'check the network', model: MODEL, workspace: 'discord-deny', seed: 3,
    script: [{ tool: 'run_code', arguments: { language: 'python', code: FETCH } }],
  }, async (e) => {
    if (e.event !== 'approval_wait') return;
    const msg = await discord.waitForMessage((m) => m.content.includes(String(e.data.approvalId)));
    discord.react(OWNER, msg.id, DENY);
  });
  const d = events.find((e) => e.event === 'decision')!.data;
  assert.deepEqual([d.action, d.by], ['deny', `human:discord:${OWNER}`]);
  assert.equal(events.find((e) => e.event === 'tool_result')!.data.status, 'denied');
});

test('a bot token Discord refuses is an error at start', async () => {
  await assert.rejects(discordApprovals({ token: 'wrong', userId: OWNER, apiBase: discord.apiBase }),
    (e) => e instanceof HearthError && e.code === 'unavailable' && /cannot log in to Discord/.test(e.message));
});
