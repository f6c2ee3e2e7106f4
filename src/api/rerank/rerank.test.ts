import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rankOrder, rerankRequestFromWire, rerankResponse } from './rerank.ts';
import { FieldError } from '../validate.ts';

test('rerank request: strings or {text} documents, top_n capped at the document count, documents not echoed by default', () => {
  const r = rerankRequestFromWire({ model: 'm', query: 'q', documents: ['a', { text: 'b' }, 'c'], top_n: 10 });
  assert.deepEqual(r, { model: 'm', query: 'q', documents: ['a', 'b', 'c'], topN: 3, returnDocuments: false, format: 'jina' });
  assert.equal(rerankRequestFromWire({ model: 'm', query: 'q', documents: ['a', 'b'], top_n: 1, return_documents: true }).topN, 1);
  // TEI's shape: texts (and return_text)
  assert.deepEqual(rerankRequestFromWire({ model: 'm', query: 'q', texts: ['x'], return_text: true }),
    { model: 'm', query: 'q', documents: ['x'], topN: 1, returnDocuments: true, format: 'tei' });
});

test('rerank request: empty or malformed documents, missing query and unknown fields are field errors', () => {
  const param = (body: unknown) => {
    try {
      rerankRequestFromWire(body);
    } catch (e) {
      assert.ok(e instanceof FieldError);
      return `${e.param}: ${e.message}`;
    }
    assert.fail('no error');
  };
  assert.match(param({ model: 'm', query: 'q', documents: [] }), /^documents: documents must be a non-empty list/);
  assert.match(param({ model: 'm', query: 'q' }), /^documents: documents is required/);
  assert.match(param({ model: 'm', documents: ['a'] }), /^query: query is required/);
  assert.match(param({ model: 'm', query: 'q', documents: [{ txt: 'a' }] }), /^documents\[0\]\.text: documents\[0\]\.text is required/);
  assert.match(param({ model: 'm', query: 'q', documents: [null] }), /^documents\[0\]: documents\[0\] must be a string or an object/);
  assert.match(param({ model: 'm', query: 'q', documents: ['a'], top_n: 1.5 }), /^top_n: top_n must be an integer/);
  assert.match(param({ model: 'm', query: 'q', documents: ['a'], rank_fields: ['x'] }), /^rank_fields: unrecognized field rank_fields/);
});

test('rerank response: best first (ties keep document order), top_n applied, usage from the tokens evaluated', () => {
  assert.deepEqual(rankOrder([0.5, 2, -1, 2]), [1, 3, 0, 2]);
  const req = rerankRequestFromWire({ model: 'bge', query: 'q', documents: ['a', 'b', 'c'], top_n: 2, return_documents: true });
  assert.deepEqual(rerankResponse(req, [-1.5, 3.25, 0.5], 21), {
    model: 'bge', object: 'list', usage: { prompt_tokens: 21, total_tokens: 21 },
    results: [{ index: 1, relevance_score: 3.25, document: { text: 'b' } }, { index: 2, relevance_score: 0.5, document: { text: 'c' } }],
  });
  const plain = rerankResponse(rerankRequestFromWire({ model: 'bge', query: 'q', documents: ['a', 'b'] }), [1, 2], 5);
  assert.deepEqual(plain, { model: 'bge', object: 'list', usage: { prompt_tokens: 5, total_tokens: 5 }, results: [{ index: 1, relevance_score: 2 }, { index: 0, relevance_score: 1 }] });
  const tei = rerankResponse(rerankRequestFromWire({ model: 'bge', query: 'q', texts: ['a', 'b'], return_text: true }), [1, 2], 5);
  assert.deepEqual(tei, [{ index: 1, score: 2, text: 'b' }, { index: 0, score: 1, text: 'a' }]);
  assert.throws(() => rerankResponse(req, [1], 1), /1 scores came back for 3 documents/);
});
