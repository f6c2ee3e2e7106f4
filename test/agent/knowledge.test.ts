// search_knowledge: a task given a vector store (vector_store_id) searches it; the passage that holds the query's
// rare word comes back to the model as the tool's result (a synthetic bert embedder, hybrid search: BM25 finds it).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EMBEDDER, MODEL, runTaskOverHttp, startAgentServer, type AgentServer } from './harness.ts';

let s: AgentServer;
before(async () => {
  s = await startAgentServer({ embedder: true });
});
after(async () => {
  await s?.close();
});

test('search_knowledge returns the store\'s passages to the model; an unknown store is a 404 naming the field', async () => {
  const kb = s.kb!;
  const store = await kb.createStore({ name: 'notes', model: EMBEDDER });
  const files = ['The deploy script lives in tools and needs the zanzibar flag.', 'Lunch is at noon on Fridays.', 'Tests run with node --test.']
    .map((t, i) => kb.createFile(`note${i}.txt`, 'assistants', Buffer.from(t)));
  for (const f of files) kb.attach(store.id, f.id);
  await kb.idle();
  const events = await runTaskOverHttp(s.base, s.admin, {
    task: 'how do I deploy?', model: MODEL, workspace: 'kb', seed: 8, vector_store_id: 'notes',
    script: [{ tool: 'search_knowledge', arguments: { query: 'zanzibar' } }],
  });
  const r = events.find((e) => e.event === 'tool_result')!.data;
  assert.equal(r.status, 'ran', String(r.output));
  assert.match(String(r.output), /^\[note0\.txt\] The deploy script lives in tools and needs the zanzibar flag\./);
  const res = await fetch(`${s.base}/api/v1/agent/tasks`, {
    method: 'POST', headers: { authorization: `Bearer ${s.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ task: 'x', model: MODEL, vector_store_id: 'nope' }),
  });
  assert.equal(res.status, 404);
  assert.equal(((await res.json()) as { error: { param: string } }).error.param, 'vector_store_id');
});
