import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from './database.ts';
import { ConversationStore, ftsQuery, type NewItem } from './conversations.ts';

const msg = (id: string, text: string): NewItem => ({ id, item: { id, type: 'message', role: 'user', content: [{ type: 'input_text', text }] }, text });

test('create, items in order, one item deleted, the conversation deleted with its items, summaries and index rows', () => {
  const db = Database.open(':memory:');
  const store = new ConversationStore(db);
  store.create({ id: 'conv_a', createdAt: 1, metadata: { a: '1' }, keyId: 'k1' }, [msg('msg_1', 'one')]);
  store.append('conv_a', [msg('msg_2', 'two'), msg('msg_3', 'three')]);
  assert.deepEqual(store.items('conv_a').map((i) => i.id), ['msg_1', 'msg_2', 'msg_3']);
  assert.equal(store.get('conv_a', 'k2'), undefined);
  assert.equal(store.get('conv_a')?.id, undefined);
  assert.deepEqual(store.get('conv_a', 'k1')?.metadata, { a: '1' });
  assert.equal(store.setMetadata('conv_a', { b: '2' }, 'k2'), false);
  assert.equal(store.setMetadata('conv_a', { b: '2' }, 'k1'), true);
  assert.equal(store.deleteItem('conv_a', 'msg_2'), true);
  assert.deepEqual(store.items('conv_a').map((i) => i.id), ['msg_1', 'msg_3']);
  store.addSummary('conv_a', { fromSeq: 1, throughSeq: 1, turns: 1, text: 'one was said', model: 'm' });
  assert.equal(store.search('conv_a', 'one', 10).length, 2);
  assert.equal(store.delete('conv_a', 'k2'), false);
  assert.equal(store.delete('conv_a', 'k1'), true);
  assert.equal(store.items('conv_a').length, 0);
  assert.equal(Number((db.db.prepare('SELECT count(*) AS n FROM conversation_search').get() as { n: number }).n), 0);
  db.close();
});

test('search: BM25 ranks the item with the rare word first; summaries are found too; FTS5 syntax in q is only words', () => {
  const store = new ConversationStore(Database.open(':memory:'));
  store.create({ id: 'conv_s', createdAt: 1, metadata: {} });
  store.create({ id: 'conv_other', createdAt: 1, metadata: {} }, [msg('msg_o', 'the lighthouse keeper')]);
  for (let i = 0; i < 20; i++) store.append('conv_s', [msg(`msg_${i}`, i === 7 ? 'the lighthouse keeper waved at the cat' : `the cat sat on mat ${i}`)]);
  const hits = store.search('conv_s', 'lighthouse cat', 5);
  assert.equal(hits[0].item?.id, 'msg_7');
  assert.ok(hits.every((h) => h.item?.id !== 'msg_o'));
  assert.ok(hits[0].score >= hits[1].score);
  const s = store.addSummary('conv_s', { fromSeq: 1, throughSeq: 5, turns: 5, text: 'they talked about a zebra', model: 'm' });
  assert.deepEqual(store.search('conv_s', 'zebra', 5).map((h) => h.summary?.id), [s.id]);
  assert.equal(ftsQuery('a" OR b* NEAR('), '"a" OR "OR" OR "b" OR "NEAR"');
  assert.equal(store.search('conv_s', '*** ()', 5).length, 0);
  assert.equal(store.latestSummary('conv_s')?.id, s.id);
});

test('a turn is appended whole or not at all: a failing item rolls back the items before it', () => {
  const store = new ConversationStore(Database.open(':memory:'));
  store.create({ id: 'conv_t', createdAt: 1, metadata: {} }, [msg('msg_1', 'kept')]);
  assert.throws(() => store.append('conv_t', [msg('msg_2', 'input'), msg('msg_1', 'a repeated id')]));
  assert.deepEqual(store.items('conv_t').map((i) => i.id), ['msg_1']);
});

test('a process killed inside a turn\'s transaction loses nothing that was committed, and leaves no half turn', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-conv-'));
  try {
    const path = join(dir, 'hearth.db');
    const store = new ConversationStore(Database.open(path));
    store.create({ id: 'conv_k', createdAt: 1, metadata: {} }, [msg('msg_1', 'acknowledged'), msg('msg_2', 'answer')]);
    // another process appends a turn's input, then dies (SIGKILL) before the output and the commit
    const child = `
      import { Database } from ${JSON.stringify(new URL('./database.ts', import.meta.url).href)};
      const db = Database.open(${JSON.stringify(path)});
      db.db.exec('BEGIN IMMEDIATE');
      db.db.prepare("INSERT INTO conversation_items (conversation_id, id, item, text) VALUES ('conv_k', 'msg_3', '{}', 'input')").run();
      process.kill(process.pid, 'SIGKILL');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const again = new ConversationStore(Database.open(path));
    assert.deepEqual(again.items('conv_k').map((i) => i.id), ['msg_1', 'msg_2']);
    again.append('conv_k', [msg('msg_3', 'input'), msg('msg_4', 'output')]);
    assert.deepEqual(again.items('conv_k').map((i) => i.id), ['msg_1', 'msg_2', 'msg_3', 'msg_4']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
