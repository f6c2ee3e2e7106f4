import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replaceSection } from './benchmarks-md.ts';

const DOC = '# Benchmarks\n\nintro\n\n## Kernels\n\nk table\n\n## Tokenizers\n\nold\nrows\n\n## Server\n\ns table\n';

test('replaceSection rewrites only its own section', () => {
  const out = replaceSection(DOC, '## Tokenizers', 'new rows');
  assert.equal(out, '# Benchmarks\n\nintro\n\n## Kernels\n\nk table\n\n## Tokenizers\n\nnew rows\n\n## Server\n\ns table\n');
});

test('replaceSection handles the last section and a missing one', () => {
  assert.equal(replaceSection(DOC, '## Server', 'x'), DOC.replace('s table\n', 'x\n'));
  assert.equal(replaceSection('# B\n', '## Tokenizers', 't'), '# B\n\n## Tokenizers\n\nt\n');
  assert.equal(replaceSection('## Tokenizers\n\nold\n', '## Tokenizers', 'new'), '## Tokenizers\n\nnew\n');
});

test('replaceSection does not take "### " subheadings or other prefixes as section ends', () => {
  const doc = '## Tokenizers\n\na\n### detail\nb\n## Tokenizers extra\n\nc\n';
  assert.equal(replaceSection(doc, '## Tokenizers', 'z'), '## Tokenizers\n\nz\n\n## Tokenizers extra\n\nc\n');
});
