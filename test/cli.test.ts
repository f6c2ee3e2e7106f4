// The hearth CLI as a person runs it: a real subprocess on the project's Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { REPO_ROOT, sharedPath } from './shared.ts';
import { loadTokenizer } from '../src/tokenizer/index.ts';
import { openGGUF } from '../src/gguf/index.ts';
import { typeName } from '../src/gguf/ggml-types.ts';

const STORIES = sharedPath('models', 'stories260K.gguf');
const dir = mkdtempSync(join(tmpdir(), 'hearth-cli-'));

function hearth(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'hearth.js'), ...args], {
    encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('tokenize prints ids (plain, --json, --jsonl) that equal the library tokenizer', () => {
  const tok = loadTokenizer(STORIES);
  const want = tok.encode('Once upon a time');
  assert.equal(hearth(['tokenize', STORIES, '--text', 'Once upon a time']).stdout.trim(), want.join(' '));
  assert.deepEqual(JSON.parse(hearth(['tokenize', STORIES, '--text', 'Once upon a time', '--json']).stdout), { ids: want });
  const noBos = JSON.parse(hearth(['tokenize', STORIES, '--text', 'Once upon a time', '--json', '--no-bos']).stdout).ids;
  assert.deepEqual(noBos, want.slice(1));
  const texts = ['Once upon a time', '', 'tab\there', 'ünïcödé "quotes"'];
  const jsonl = join(dir, 'in.jsonl');
  writeFileSync(jsonl, texts.map((t) => JSON.stringify(t)).join('\n') + '\n');
  const lines = hearth(['tokenize', STORIES, '--jsonl', jsonl]).stdout.trim().split('\n').map((l) => JSON.parse(l).ids);
  assert.deepEqual(lines, texts.map((t) => tok.encode(t)));
});

test('detokenize prints the text of ids; a bad id is a clear error', () => {
  const tok = loadTokenizer(STORIES);
  const ids = tok.encode('The cat sat.', { addBos: false });
  assert.equal(hearth(['detokenize', STORIES, ...ids.map(String)]).stdout.trimEnd(), tok.decode(ids));
  const bad = hearth(['detokenize', STORIES, '99999']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /not a token id of this vocabulary \(0\.\.511\)/);
});

test('info describes the model; --json is machine-readable', () => {
  const info = JSON.parse(hearth(['info', STORIES, '--json']).stdout);
  assert.equal(info.architecture, 'llama');
  assert.equal(info.parameters, 292_800);
  assert.deepEqual(info.tensorTypes, { F32: 48 });
  assert.equal(info.contextLength, 2048);
  assert.equal(info.tokenizer.model, 'llama');
  assert.equal(info.tokenizer.vocabSize, 512);
  const text = hearth(['info', STORIES]).stdout;
  assert.match(text, /architecture\s+llama/);
  assert.match(text, /chat template\s+none/);
});

test('quantize writes a model of the asked type that runs', () => {
  const out = join(dir, 'stories-q8_0.gguf');
  const r = hearth(['quantize', STORIES, out, 'q8_0']);
  assert.equal(r.code, 0, r.stderr);
  const f = openGGUF(out);
  const types = new Set(f.tensors.filter((t) => t.shape.length === 2).map((t) => typeName(t.type)));
  assert.equal(f.metadata.getNumber('general.file_type'), 7);
  f.close();
  assert.ok(types.has('Q8_0'));
  const run = hearth(['run', out, '--prompt', 'Once upon a time', '-n', '8', '--temp', '0']);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(run.stdout.trim().length > 0);
});

test('run finds NAME.gguf in HEARTH_MODELS and HEARTH_MODEL; logs go to stderr only', () => {
  const env = { HEARTH_MODELS: join(REPO_ROOT, '..', 'shared', 'models'), HEARTH_MODEL: 'stories260K' };
  if (process.env.HEARTH_SHARED) env.HEARTH_MODELS = join(process.env.HEARTH_SHARED, 'models');
  const byName = hearth(['run', 'stories260K', '--prompt', 'Once upon a time', '-n', '16', '--temp', '0'], env);
  const byDefault = hearth(['run', '--prompt', 'Once upon a time', '-n', '16', '--temp', '0'], env);
  const byPath = hearth(['run', STORIES, '--prompt', 'Once upon a time', '-n', '16', '--temp', '0']);
  assert.equal(byName.stdout, byPath.stdout);
  assert.equal(byDefault.stdout, byPath.stdout);
  assert.doesNotMatch(byPath.stdout, /hearth:|t\/s/);
  assert.match(byPath.stderr, /generated 16 tokens/);
});

test('mistakes get a message and exit code 1, not a stack trace', () => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['run', join(dir, 'missing.gguf'), '--prompt', 'x'], /does not exist/],
    [['run', STORIES], /give a prompt/],
    [['run', STORIES, '--prompt', 'x', '--temp', 'hot'], /--temp: "hot" is not a valid value/],
    [['quantize', STORIES, join(dir, 'x.gguf'), 'Q9_9'], /unknown quantization type "Q9_9"/],
    [['info', join(dir, 'in.jsonl')], /does not exist|GGUF|magic/i],
  ];
  writeFileSync(join(dir, 'in.jsonl'), 'not a gguf');
  for (const [args, msg] of cases) {
    const r = hearth(args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, msg, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
