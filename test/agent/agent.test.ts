// The assistant end to end over HTTP: stories260K forced into tool calls (tool_choice required, or one named tool
// whose arguments a script fixes through the grammar), the real sandbox, git and the store. A task writes a file,
// runs it and commits; a HIGH action waits for a person and is approved (by its owner; another key cannot), denied
// (nothing runs, nothing is committed) or left to time out; the reviewer model answers in its fixed shape; every
// action, assessment, review and approval is a row; git log shows the decision trailers.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitOut, MODEL, runTaskOverHttp, startAgentServer, trailersOf, type AgentServer, type SseEvent } from './harness.ts';
import { TOOL_NAMES } from '../../src/agent/types.ts';

let s: AgentServer;
before(async () => {
  s = await startAgentServer();
});
after(async () => {
  await s?.close();
});

const HELLO = 'with open("out.txt", "w") as f:\n    f.write("hello from the sandbox\\n")\nprint("hello", 6 * 7)\n';
// HIGH (a network module and call); the file it writes first shows whether it ran
const FETCH = 'open("ran.txt", "w").write("ran\\n")\nimport urllib.request\ntry:\n    urllib.request.urlopen("http://127.0.0.1:9/", timeout=2)\n' +
  'except Exception as e:\n    print("no network:", type(e).__name__)\n';

const types = (events: SseEvent[]) => events.map((e) => e.event);
const commitCount = (dir: string) => Number(gitOut(dir, 'rev-list', '--all', '--count').trim());
const auth = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });

async function answer(key: string, id: string, decision: 'approve' | 'deny') {
  const res = await fetch(`${s.base}/api/v1/approvals/${id}`, { method: 'POST', headers: auth(key), body: JSON.stringify({ decision }) });
  return { status: res.status, body: await res.json() as Record<string, any> };
}

test('a task writes a file, runs it in the sandbox and commits each change with its decision context', async () => {
  const events = await runTaskOverHttp(s.base, s.admin, {
    task: 'write a program that greets, and run it', model: MODEL, workspace: 'greet', seed: 1,
    script: [
      { tool: 'write_file', arguments: { path: 'hello.py', content: HELLO } },
      { tool: 'run_code', arguments: { language: 'python', path: 'hello.py' } },
      { tool: 'finish', arguments: { summary: 'hello.py greets; it ran and wrote out.txt' } },
    ],
  });
  const t = types(events);
  assert.equal(t[0], 'task');
  assert.equal(t[1], 'plan');
  assert.deepEqual(t.slice(2), ['tool_call', 'assessment', 'decision', 'tool_result', 'tool_call', 'assessment', 'decision', 'tool_result', 'tool_call', 'result']);
  const calls = events.filter((e) => e.event === 'tool_call').map((e) => e.data);
  assert.deepEqual(calls.map((c) => c.tool), ['write_file', 'run_code', 'finish']);
  assert.deepEqual(calls[0]!.arguments, { path: 'hello.py', content: HELLO });
  const results = events.filter((e) => e.event === 'tool_result').map((e) => e.data);
  assert.equal(results[0]!.status, 'ran');
  assert.equal(results[1]!.status, 'ran', String(results[1]!.output));
  assert.match(String(results[1]!.output), /exit 0[\s\S]*hello 42/);
  const result = events.at(-1)!.data;
  assert.equal(result.status, 'done');
  assert.equal((result.commits as string[]).length, 2);

  const ws = join(s.root, (await keyId(s.admin)), 'greet');
  assert.equal(readFileSync(join(ws, 'out.txt'), 'utf8'), 'hello from the sandbox\n');
  assert.equal(gitOut(ws, 'status', '--porcelain'), '', 'everything is committed');
  assert.equal(commitCount(ws), 2);
  assert.deepEqual(gitOut(ws, 'show', '--name-only', '--format=', 'HEAD').trim().split('\n'), ['out.txt']);
  assert.deepEqual(gitOut(ws, 'show', '--name-only', '--format=', 'HEAD~1').trim().split('\n'), ['hello.py']);
  const [runTrailers, writeTrailers] = trailersOf(ws);
  for (const tr of [runTrailers!, writeTrailers!]) {
    assert.equal(tr['Hearth-Risk'], 'LOW (no findings)');
    assert.equal(tr['Hearth-Review'], 'not asked (LOW runs without review)');
    assert.equal(tr['Hearth-Approved-By'], 'policy');
    assert.equal(tr['Hearth-Task'], result.taskId);
  }
  const message = gitOut(ws, 'log', '-1', '--format=%B', 'HEAD~1');
  assert.match(message, /^create hello\.py\n\nTask: write a program that greets, and run it\n/);

  // the record: a row per action, assessment and decision
  const rec = await (await fetch(`${s.base}/api/v1/agent/tasks/${result.taskId}`, { headers: auth(s.admin) })).json() as Record<string, any>;
  assert.equal(rec.status, 'done');
  assert.deepEqual(rec.actions.map((a: any) => [a.tool, a.status, a.decided_by]), [['write_file', 'ran', 'policy'], ['run_code', 'ran', 'policy'], ['finish', 'ran', 'policy']]);
  assert.deepEqual(rec.assessments.map((a: any) => a.level), ['LOW', 'LOW']);
  assert.equal(rec.actions[0].commit, (result.commits as string[])[0]);
});

/** The id of the key whose secret this is: a task's workspace is DIR/<key id>/<name>. */
async function keyId(secret: string): Promise<string> {
  const v = s.store.keys.verify(secret);
  if (!v.ok) throw new Error(`not a key: ${v.reason}`);
  return v.key.id;
}

test('with tool_choice required and no script, every call the model makes is a well-formed call of one of the tools', async () => {
  const events = await runTaskOverHttp(s.base, s.admin, { task: 'look around', model: MODEL, workspace: 'free', seed: 7, max_steps: 3, approval_timeout_ms: 200 });
  const calls = events.filter((e) => e.event === 'tool_call').map((e) => e.data);
  assert.ok(calls.length >= 1);
  for (const c of calls) {
    assert.ok(TOOL_NAMES.includes(c.tool as never), String(c.tool));
    assert.equal(typeof c.arguments, 'object', 'the arguments are a JSON object');
  }
  assert.equal(events.at(-1)!.event, 'result');
});

test('a HIGH action waits for a person: another key cannot see or answer it, its owner approves over HTTP, a second answer loses', async () => {
  const alice = s.store.keys.create({ name: 'alice', scopes: ['inference'] }).secret;
  const bob = s.store.keys.create({ name: 'bob', scopes: ['inference'] }).secret;
  let waited: Record<string, any> | undefined;
  const events = await runTaskOverHttp(s.base, alice, {
    task: 'check whether the network is there', model: MODEL, workspace: 'net', seed: 2,
    script: [{ tool: 'run_code', arguments: { language: 'python', code: FETCH } }, { tool: 'finish', arguments: { summary: 'checked' } }],
  }, async (e) => {
    if (e.event !== 'approval_wait') return;
    const id = String(e.data.approvalId);
    const listed = await (await fetch(`${s.base}/api/v1/approvals`, { headers: auth(alice) })).json() as { data: Record<string, any>[] };
    waited = listed.data.find((a) => a.id === id);
    const bobs = await (await fetch(`${s.base}/api/v1/approvals`, { headers: auth(bob) })).json() as { data: unknown[] };
    assert.equal(bobs.data.length, 0, 'bob sees none of alice\'s approvals');
    assert.equal((await answer(bob, id, 'approve')).status, 404);
    const ok = await answer(alice, id, 'approve');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.status, 'approved');
    assert.equal(ok.body.decided_by, 'alice');
    const late = await answer(s.admin, id, 'deny');
    assert.equal(late.status, 409);
    assert.match(late.body.error.message, /already approved by alice/);
  });
  assert.ok(waited, 'the approval was listed while it waited');
  assert.equal(waited!.status, 'pending');
  assert.equal(waited!.risk.level, 'HIGH');
  assert.ok(waited!.risk.findings.some((f: any) => f.rule === 'py.network-import' && /urllib/.test(f.message)));
  assert.equal(waited!.action.code, FETCH);
  assert.deepEqual(types(events).slice(2, 6), ['tool_call', 'assessment', 'approval_wait', 'decision']);
  const decision = events.find((e) => e.event === 'decision')!.data;
  assert.deepEqual([decision.action, decision.by], ['run', 'human:alice']);
  const ran = events.find((e) => e.event === 'tool_result')!.data;
  assert.match(String(ran.output), /no network:/, 'it ran, and the sandbox had no network for it');

  const ws = join(s.root, await keyId(alice), 'net');
  assert.equal(readFileSync(join(ws, 'ran.txt'), 'utf8'), 'ran\n');
  const [tr] = trailersOf(ws);
  assert.match(tr!['Hearth-Risk']!, /^HIGH; py\.network-import HIGH line 2: imports urllib\.request/);
  assert.equal(tr!['Hearth-Review'], 'none (no reviewer model configured)');
  assert.equal(tr!['Hearth-Approved-By'], 'human:alice');
  const rows = s.store.agent.approvalsOfTask(String(events[0]!.data.taskId));
  assert.deepEqual(rows.map((r) => [r.status, r.decidedBy, r.channel]), [['approved', 'alice', 'http']]);
});

test('a HIGH action denied over HTTP: nothing runs, nothing is committed, the denial and who made it are recorded', async () => {
  const events = await runTaskOverHttp(s.base, s.admin, {
    task: 'check the network', model: MODEL, workspace: 'denied', seed: 3,
    script: [{ tool: 'run_code', arguments: { language: 'python', code: FETCH } }, { tool: 'finish', arguments: { summary: 'gave up' } }],
  }, async (e) => {
    if (e.event === 'approval_wait') assert.equal((await answer(s.admin, String(e.data.approvalId), 'deny')).status, 200);
  });
  const r = events.find((e) => e.event === 'tool_result')!.data;
  assert.equal(r.status, 'denied');
  assert.match(String(r.output), /denied \(human:admin\): admin denied it/);
  const ws = join(s.root, await keyId(s.admin), 'denied');
  assert.equal(existsSync(join(ws, 'ran.txt')), false, 'the program did not run');
  assert.equal(commitCount(ws), 0, 'nothing was committed');
  const taskId = String(events[0]!.data.taskId);
  const [action] = s.store.agent.actions(taskId);
  assert.deepEqual([action!.status, action!.decision, action!.decidedBy], ['denied', 'deny', 'human:admin']);
  assert.deepEqual(s.store.agent.approvalsOfTask(taskId).map((a) => [a.status, a.decidedBy]), [['denied', 'admin']]);
});

test('no answer before the timeout is a denial', async () => {
  const events = await runTaskOverHttp(s.base, s.admin, {
    task: 'check the network', model: MODEL, workspace: 'late', seed: 4, approval_timeout_ms: 300,
    script: [{ tool: 'run_code', arguments: { language: 'python', code: FETCH } }],
  });
  const d = events.find((e) => e.event === 'decision')!.data;
  assert.deepEqual([d.action, d.by, d.reason], ['deny', 'human:timeout', 'no answer before the timeout']);
  const ws = join(s.root, await keyId(s.admin), 'late');
  assert.equal(existsSync(join(ws, 'ran.txt')), false);
  assert.equal(commitCount(ws), 0);
  const late = await answer(s.admin, String(events.find((e) => e.event === 'approval_wait')!.data.approvalId), 'approve');
  assert.equal(late.status, 409, 'an answer after the timeout is too late');
});

test('a MEDIUM action goes to the reviewer model, whose answer has the fixed shape and decides as the policy says', async () => {
  const code = 'import subprocess\nsubprocess.run(["touch", "made.txt"])\n';
  const events = await runTaskOverHttp(s.base, s.admin, {
    task: 'make a file with touch', model: MODEL, reviewer: MODEL, workspace: 'reviewed', seed: 5, approval_timeout_ms: 300,
    script: [{ tool: 'run_code', arguments: { language: 'python', code } }],
  });
  assert.equal(events.find((e) => e.event === 'assessment')!.data.level, 'MEDIUM');
  const rv = events.find((e) => e.event === 'review')!.data;
  assert.equal(rv.model, MODEL);
  assert.ok(['approve', 'concerns', 'reject'].includes(String(rv.verdict)), String(rv.verdict));
  assert.ok(Array.isArray(rv.reasons) && (rv.reasons as unknown[]).every((r) => typeof r === 'string'));
  const d = events.find((e) => e.event === 'decision')!.data;
  const waited = events.some((e) => e.event === 'approval_wait');
  // the policy: approve runs it, reject denies it, concerns hands it to a person (who does not answer here)
  const expected = { approve: ['run', `reviewer:${MODEL}`, false], reject: ['deny', `reviewer:${MODEL}`, false], concerns: ['deny', 'human:timeout', true] }[rv.verdict as 'approve'];
  assert.deepEqual([d.action, d.by, waited], expected);
  const taskId = String(events[0]!.data.taskId);
  assert.deepEqual(s.store.agent.reviews(taskId).map((r) => r.verdict), [rv.verdict]);
  const ws = join(s.root, await keyId(s.admin), 'reviewed');
  assert.equal(existsSync(join(ws, 'made.txt')), d.action === 'run');
  if (d.action === 'run') assert.match(trailersOf(ws)[0]!['Hearth-Review']!, new RegExp(`^approve by ${MODEL}: `));
});

test('sandboxed code cannot reach the repository: a hook or config it writes under .git never reaches git', async () => {
  const code = 'mkdir -p .git/hooks && printf "#!/bin/sh\\ntouch /tmp/hearth-hook-ran\\n" > .git/hooks/post-commit && chmod +x .git/hooks/post-commit\n' +
    'printf "[core]\\n\\tfsmonitor = touch /tmp/hearth-fsmonitor-ran\\n" > .git/config\necho changed > note.txt\n';
  const events = await runTaskOverHttp(s.base, s.admin, {
    task: 'leave a note', model: MODEL, workspace: 'hooks', seed: 6,
    script: [{ tool: 'write_file', arguments: { path: 'start.txt', content: 'start\n' } }, { tool: 'run_code', arguments: { language: 'bash', code } }],
  });
  const r = events.filter((e) => e.event === 'tool_result').map((e) => e.data);
  assert.equal(r[1]!.status, 'ran', String(r[1]!.output));
  assert.match(String(r[1]!.output), /made a \.git of its own in the workspace; it was removed/);
  const ws = join(s.root, await keyId(s.admin), 'hooks');
  assert.equal(existsSync(join(ws, '.git', 'hooks', 'post-commit')), false);
  assert.doesNotMatch(readFileSync(join(ws, '.git', 'config'), 'utf8'), /fsmonitor/);
  assert.equal(existsSync('/tmp/hearth-hook-ran') || existsSync('/tmp/hearth-fsmonitor-ran'), false);
  assert.equal(commitCount(ws), 2, 'the note was committed by the real repository');
  assert.equal(gitOut(ws, 'show', 'HEAD:note.txt'), 'changed\n');
  // a path into .git is refused before anything is written
  const ev2 = await runTaskOverHttp(s.base, s.admin, {
    task: 'x', model: MODEL, workspace: 'hooks', seed: 6, script: [{ tool: 'write_file', arguments: { path: '.git/hooks/pre-commit', content: 'x' } }],
  });
  const a = ev2.find((e) => e.event === 'assessment')!.data;
  assert.equal(a.level, 'BLOCKED');
  assert.equal((a.findings as { rule: string }[])[0]!.rule, 'agent.git-dir');
  assert.equal(ev2.find((e) => e.event === 'tool_result')!.data.status, 'denied');
});

test('bad requests are typed errors that name the field', async () => {
  const post = (body: unknown) => fetch(`${s.base}/api/v1/agent/tasks`, { method: 'POST', headers: auth(s.admin), body: JSON.stringify(body) });
  let res = await post({ model: MODEL });
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as any).error.message, /task is required/);
  res = await post({ task: 'x', model: MODEL, workspace: '../etc' });
  assert.equal(res.status, 400);
  res = await post({ task: 'x', model: MODEL, script: [{ tool: 'rm_rf', arguments: {} }] });
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as any).error.message, /names tool "rm_rf"/);
  res = await post({ task: 'x', model: 'no-such-model' });
  assert.equal(res.status, 404);
  const narrow = s.store.keys.create({ name: 'narrow', scopes: ['inference'], models: [MODEL] }).secret;
  res = await fetch(`${s.base}/api/v1/agent/tasks`, { method: 'POST', headers: auth(narrow), body: JSON.stringify({ task: 'x', model: MODEL, reviewer: 'other' }) });
  assert.equal(res.status, 403);
  assert.match(((await res.json()) as any).error.message, /may not use model "other"/);
  res = await fetch(`${s.base}/api/v1/approvals/apr_nope`, { method: 'POST', headers: auth(s.admin), body: JSON.stringify({ decision: 'maybe' }) });
  assert.equal(res.status, 400);
});
