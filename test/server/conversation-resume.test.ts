// Killed mid-compression: a child `hearth serve` (stories260K with a chat template, a 512-token context) takes
// turns of one conversation until a turn has to fold older turns into a summary; it is killed (SIGKILL) as soon
// as it logs that it is writing that summary. The half-done turn left nothing behind (no items, no summary); a
// second server on the same database takes the same turn again, writes the summary, and the history is whole:
// every acknowledged item once, in order, the new turn once, and the summaries' spans continuous (none repeated).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import OpenAI from 'openai';
import { chatTemplateModelPath, untilHealthy } from './harness.ts';
import { tempDir } from '../security/harness.ts';
import { REPO_ROOT } from '../shared.ts';
import { Database } from '../../src/store/database.ts';

const MODEL = 'chat';

interface Child { proc: ChildProcess; lines: string[]; wait(re: RegExp): Promise<void> }

function serve(model: string, db: string, port: number): Child {
  const proc = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'hearth.js'), 'serve', model, '--alias', MODEL, '--ctx', '512', '--port', String(port), '--parallel', '1', '--log-level', 'info'],
    { env: { ...process.env, HEARTH_DB: db }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiters: { re: RegExp; done: () => void }[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const w of [...waiters]) if (w.re.test(l)) { waiters.splice(waiters.indexOf(w), 1); w.done(); }
  });
  return { proc, lines, wait: (re) => new Promise<void>((done) => waiters.push({ re, done })) };
}

test('kill -9 mid-compression, restart: the turn is taken again, nothing lost or duplicated', async () => {
  const model = chatTemplateModelPath();
  const dbPath = join(tempDir('hearth-conv-resume-'), 'hearth.db');
  const port = 20000 + Math.floor(Math.random() * 20000);
  const base = `http://127.0.0.1:${port}`;
  const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'none', maxRetries: 0 });
  const db = Database.open(dbPath);
  const items = (id: string) => db.db.prepare('SELECT seq, id, text FROM conversation_items WHERE conversation_id = ? ORDER BY seq').all(id) as { seq: number; id: string; text: string }[];
  const summaries = (id: string) => db.db.prepare('SELECT from_seq, through_seq, turns FROM conversation_summaries WHERE conversation_id = ? ORDER BY id').all(id) as { from_seq: number; through_seq: number; turns: number }[];
  let child = serve(model, dbPath, port);
  try {
    await untilHealthy(base);
    const c = await openai.conversations.create();
    const turn = (text: string) => openai.responses.create({ model: MODEL, conversation: c.id, input: text, max_output_tokens: 12, temperature: 0 }).withResponse();
    let killedText: string | undefined;
    let summariesAtKill = 0;
    for (let t = 0; t < 40 && killedText === undefined; t++) {
      const text = `Tell me about the cat named Tom number ${t}, who sat by the hearth.`;
      // A summary already written means the next one is a real step of a rolling summary, not the first.
      const armed = summaries(c.id).length > 0;
      const summarising = child.wait(/"msg":"writing a summary"/);
      const answer = turn(text);
      answer.catch(() => {});
      const first = await Promise.race([answer.then(() => 'answered' as const, () => 'failed' as const), summarising.then(() => 'summarising' as const)]);
      if (first === 'summarising' && armed) {
        summariesAtKill = summaries(c.id).length;
        child.proc.kill('SIGKILL');
        await new Promise((r) => child.proc.once('exit', r));
        killedText = text;
      } else {
        await answer;
      }
    }
    assert.ok(killedText !== undefined, 'no turn wrote a second summary in 40 turns');
    const before = items(c.id);
    // The killed turn left nothing: no items of it, no summary.
    assert.ok(before.every((i) => !i.text.includes(killedText!)));
    assert.equal(summaries(c.id).length, summariesAtKill);

    child = serve(model, dbPath, port);
    await untilHealthy(base);
    const { data: r, response } = await turn(killedText);
    assert.ok(r.status === 'completed' || r.status === 'incomplete', r.status); // incomplete: max_output_tokens reached
    const header = response.headers.get('hearth-context') ?? '';
    assert.match(header, /summaries_written=[1-9]/, header);
    const after = items(c.id);
    // Every acknowledged item is there, unchanged and in order, then the new turn's input and output, once.
    assert.deepEqual(after.slice(0, before.length), before);
    assert.equal(after.filter((i) => i.text.includes(killedText!)).length, 1);
    assert.deepEqual(after.slice(before.length).map((i) => i.id), [after[before.length].id, ...r.output.map((o) => o.id)]);
    assert.deepEqual(after.map((i) => Number(i.seq)), after.map((_, k) => Number(after[0].seq) + k));
    // The summaries' spans follow one another: each folds in the items after the one before, none twice.
    const s = summaries(c.id);
    assert.ok(s.length > summariesAtKill);
    for (let k = 1; k < s.length; k++) {
      assert.equal(Number(s[k].from_seq), Number(s[k - 1].through_seq) + 1, JSON.stringify(s));
      assert.ok(Number(s[k].turns) > Number(s[k - 1].turns));
    }
  } finally {
    child.proc.kill('SIGKILL');
    db.close();
  }
});
