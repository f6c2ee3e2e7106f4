// The assistant's parts that need no model: where a tool's path lies, scripts, the review's fixed shape, the commit
// message's trailers, workspace policies, and the approval broker (first answer wins, a timeout denies, a restart
// expires what waited).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { place, parseScript, scriptedSpec } from '../../src/agent/tools.ts';
import { parseReview } from '../../src/agent/review.ts';
import { commitMessage, openRepo } from '../../src/agent/git.ts';
import { spawnSync } from 'node:child_process';
import { policyFor, readPolicySettings } from '../../src/agent/service.ts';
import { ApprovalBroker } from '../../src/agent/approvals.ts';
import { policyOverride } from '../../src/cli/commands/agent.ts';
import { approvalMessage } from '../../src/agent/discord.ts';
import { DEFAULT_POLICY } from '../../src/assess/policy.ts';
import { Database } from '../../src/store/database.ts';
import { AgentStore } from '../../src/store/agent.ts';
import { HearthError } from '../../src/util/errors.ts';

const ws = mkdtempSync(join(tmpdir(), 'hearth-parts-'));
mkdirSync(join(ws, 'src'));
symlinkSync('/etc', join(ws, 'etc-link'));

test('tool paths stay in the workspace and out of .git', () => {
  const ok = place(ws, 'src/./a.py');
  assert.ok(ok.ok && ok.rel === 'src/a.py');
  for (const [path, rule] of [['/etc/passwd', 'agent.path-absolute'], ['../x', 'agent.path-outside'], ['src/../../x', 'agent.path-outside'],
    ['.git/config', 'agent.git-dir'], ['src/.GIT/hooks/x', 'agent.git-dir'], ['etc-link/shadow', 'agent.path-symlink'], ['a\0b', 'agent.path-nul']]) {
    const p = place(ws, path);
    assert.ok(!p.ok, path);
    assert.equal(!p.ok && p.finding.rule, rule, path);
    assert.equal(!p.ok && p.finding.level, 'BLOCKED');
  }
});

test('a script step becomes a spec whose every argument is a const, and a bad script is refused with the step named', () => {
  const [step] = parseScript([{ tool: 'write_file', arguments: { path: 'a', content: 'b' } }]);
  assert.deepEqual(scriptedSpec(step!).parameters, {
    type: 'object', properties: { path: { const: 'a' }, content: { const: 'b' } }, required: ['path', 'content'], additionalProperties: false,
  });
  assert.throws(() => parseScript([]), /non-empty list/);
  assert.throws(() => parseScript([{ tool: 'write_file', arguments: { path: 'a' } }]), /step 1: content is required/);
  assert.throws(() => parseScript([{ tool: 'run_code', arguments: { language: 'ruby', code: 'x' } }]), /language must be one of python, node, bash/);
  assert.throws(() => parseScript({ steps: [{ tool: 'read_file', arguments: { path: 'a', extra: '1' } }] }), /unknown argument extra/);
});

test('a review is the fixed shape or an error with what the model wrote', () => {
  assert.deepEqual(parseReview('{"verdict": "reject", "reasons": ["deletes the home folder"]}', 'm'), { verdict: 'reject', reasons: ['deletes the home folder'], model: 'm' });
  assert.throws(() => parseReview('yes', 'm'), (e) => e instanceof HearthError && /did not answer in JSON: yes/.test(e.message));
  assert.throws(() => parseReview('{"verdict": "fine", "reasons": []}', 'm'), /no verdict/);
  assert.throws(() => parseReview('{"verdict": "approve", "reasons": "ok"}', 'm'), /no list of reasons/);
});

test('the commit message keeps each trailer on one line, after the task and reasoning', () => {
  const msg = commitMessage({
    task: 'fix it', subject: 'change a.py', reasoning: 'first\nsecond', risk: 'HIGH; py.x HIGH line 1: a\nb', review: 'approve by m: ok',
    approvedBy: 'human:alice', taskId: 't1', actionId: 'a1',
  });
  const lines = msg.trim().split('\n');
  assert.equal(lines[0], 'change a.py');
  assert.deepEqual(lines.slice(-5), ['Hearth-Task: t1', 'Hearth-Action: a1', 'Hearth-Risk: HIGH; py.x HIGH line 1: a b', 'Hearth-Review: approve by m: ok', 'Hearth-Approved-By: human:alice']);
  assert.match(msg, /\n\nTask: fix it\n\nReasoning: first\nsecond\n\n/);
});

test('a folder in no repository gets one; a server workspace inside another repository gets its own', async () => {
  const outer = mkdtempSync(join(tmpdir(), 'hearth-outer-'));
  spawnSync('git', ['init', '-q', outer]);
  mkdirSync(join(outer, 'ws'));
  const inner = await openRepo(join(outer, 'ws'));
  assert.deepEqual([inner.gitDir, inner.gitDirInside, inner.created], [join(outer, '.git'), false, false]);
  const own = await openRepo(join(outer, 'ws'), true);
  assert.deepEqual([own.gitDir, own.gitDirInside, own.created], [join(outer, 'ws', '.git'), true, true]);
  const fresh = mkdtempSync(join(tmpdir(), 'hearth-fresh-'));
  assert.equal((await openRepo(fresh)).created, true);
});

test('workspace policies come from a file outside the workspace; --policy overrides a level; BLOCKED stays never', () => {
  const file = join(ws, '..', `policy-${process.pid}.json`);
  writeFileSync(file, JSON.stringify({ default: { MEDIUM: 'human' }, workspaces: { [join(ws, 'src')]: { LOW: 'reviewer' } } }));
  const settings = readPolicySettings(file);
  assert.equal(policyFor(settings, join(ws, 'src')).LOW, 'reviewer');
  assert.equal(policyFor(settings, ws).MEDIUM, 'human');
  assert.deepEqual(policyFor(readPolicySettings(join(ws, 'none.json')), ws), DEFAULT_POLICY);
  assert.equal(policyOverride(DEFAULT_POLICY, 'medium=human').MEDIUM, 'human');
  assert.throws(() => policyOverride(DEFAULT_POLICY, 'BLOCKED=run'), /BLOCKED actions never run/);
  assert.throws(() => policyOverride(DEFAULT_POLICY, 'HIGH'), /LEVEL=REQUIREMENT/);
});

function brokerWith(timeoutMs: number) {
  const db = Database.open(':memory:');
  const store = new AgentStore(db);
  store.createTask({ id: 't', workspace: '/w', task: 'x', model: 'm' });
  store.createAction({ id: 'a', taskId: 't', seq: 0, tool: 'run_code', arguments: {} });
  const request = { task: 'x', action: { tool: 'run_code' as const, summary: 'run python code', code: 'print(1)', language: 'python' }, risk: { level: 'HIGH' as const, findings: [] } };
  return { db, store, broker: new ApprovalBroker(store, { timeoutMs }), request };
}

test('approvals: the first answer wins, a late one is told so; no answer by the deadline denies', async () => {
  const { db, store, broker, request } = brokerWith(60_000);
  const p = broker.request({ actionId: 'a', taskId: 't', request });
  assert.equal(store.approval(p.row.id)!.status, 'pending');
  assert.deepEqual(broker.answer(p.row.id, true, 'alice', 'http').ok, true);
  const late = broker.answer(p.row.id, false, 'discord:1', 'discord');
  assert.ok(!late.ok && late.reason === 'decided');
  assert.deepEqual(await p.answer, { approved: true, by: 'alice', channel: 'http' });
  assert.ok(!broker.answer('apr_none', true, 'x', 'http').ok);
  db.close();

  const t = brokerWith(50);
  const q = t.broker.request({ actionId: 'a', taskId: 't', request });
  assert.deepEqual(await q.answer, { approved: false, by: 'timeout', channel: 'timeout' });
  assert.equal(t.store.approval(q.row.id)!.status, 'expired');
  // a new process expires what an old one left waiting
  t.store.createApproval({ id: 'apr_left', actionId: 'a', taskId: 't', expiresAt: Date.now() + 1e6, request: {} });
  new ApprovalBroker(t.store, { settleAbandoned: true });
  assert.deepEqual([t.store.approval('apr_left')!.status, t.store.approval('apr_left')!.decidedBy], ['expired', 'restart']);
  t.db.close();
});

test('the Discord message names the level, the findings, the review and the code, within 2000 characters', () => {
  const long = 'x = 1\n'.repeat(1000);
  const row = {
    id: 'apr_1', actionId: 'a', taskId: 't', createdAt: 0, expiresAt: 1_700_000_000_000, status: 'pending' as const,
    request: {
      task: 'tidy', action: { tool: 'run_code', summary: 'run python code', code: long, language: 'python' },
      risk: { level: 'HIGH', findings: [{ rule: 'py.network-call', level: 'HIGH', reason: 'uses the network', line: 3, column: 1, snippet: '' }] },
      review: { verdict: 'concerns', reasons: ['why the network?'], model: 'rev' },
    },
  };
  const m = approvalMessage(row, '42');
  assert.ok(m.length <= 2000, String(m.length));
  assert.match(m, /Approval needed: HIGH\*\* · apr_1\nTask: tidy\nAction: run python code\nFindings:\n• py\.network-call \(line 3\): uses the network\nReview by rev: \*\*concerns\*\* \(why the network\?\)\n```python\nx = 1/);
  assert.match(m, /…\n```\nReact 👍 to approve or 👎 to deny \(only <@42> counts\)\. No answer by <t:1700000000:T> denies it\.$/, "the code is cut, the instructions kept");
});
