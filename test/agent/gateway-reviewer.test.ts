// The reviewer through the gateway: a second hearth server on loopback is the upstream (an openai-compatible
// provider), and `reviewer: "up/stories"` sends it the review with response_format json_schema, which the upstream
// holds its model to; the answer comes back in the fixed shape and decides the MEDIUM action as the policy says.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { MODEL, runTaskOverHttp, startAgentServer, type AgentServer } from './harness.ts';
import { startServer, chatTemplateModelPath, type TestServer } from '../server/harness.ts';

let up: TestServer;
let s: AgentServer;
before(async () => {
  up = await startServer({ path: chatTemplateModelPath(), alias: 'stories', parallel: 2, nCtx: 2048 });
  s = await startAgentServer({ gatewayYaml: `providers:\n  up: { type: openai-compatible, base_url: ${up.base}/v1, timeout: 60s }\n` });
});
after(async () => {
  await s?.close();
  await up?.close();
});

test('a reviewer on a gateway route answers in the fixed shape, and its verdict decides as the policy says', async () => {
  const events = await runTaskOverHttp(s.base, s.admin, {
    task: 'make a file with touch', model: MODEL, reviewer: 'up/stories', workspace: 'gw', seed: 5, approval_timeout_ms: 300,
    script: [{ tool: 'run_code', arguments: { language: 'python', code: 'import subprocess\nsubprocess.run(["touch", "made.txt"])\n' } }],
  });
  const rv = events.find((e) => e.event === 'review')!.data;
  assert.equal(rv.model, 'up/stories');
  assert.ok(['approve', 'concerns', 'reject'].includes(String(rv.verdict)), String(rv.verdict));
  assert.ok((rv.reasons as unknown[]).length >= 1 && (rv.reasons as unknown[]).every((r) => typeof r === 'string'));
  assert.doesNotMatch(String((rv.reasons as string[])[0]), /the reviewer failed/, 'the upstream answered in the shape');
  const d = events.find((e) => e.event === 'decision')!.data;
  const expected = { approve: ['run', 'reviewer:up/stories'], reject: ['deny', 'reviewer:up/stories'], concerns: ['deny', 'human:timeout'] }[rv.verdict as 'approve'];
  assert.deepEqual([d.action, d.by], expected);
  assert.equal(existsSync(`${events[0]!.data.workspace}/made.txt`), d.action === 'run');
});
