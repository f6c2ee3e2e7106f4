// Regular expressions against hostile input: keep_alive is parsed by hand; every regex literal in src/ and every
// built-in pre-tokenizer pattern is checked with recheck (an automaton-based ReDoS checker, pure JavaScript); patterns
// from tokenizer files with nested quantifiers are refused at load.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import recheck from 'recheck';
import { REPO_ROOT, sharedPath } from '../shared.ts';
import { startServer, type TestServer } from '../server/harness.ts';
import { preTokenizerConfig } from '../../src/tokenizer/pre-tokenizers.ts';
import { compileSplitRegex, hostilePattern, rewriteWhitespace } from '../../src/tokenizer/regex-split.ts';
import { compileHFRegex } from '../../src/tokenizer/hf/hf-regex.ts';
import { HearthError } from '../../src/util/errors.ts';

/**
 * Literals recheck finds polynomial (never exponential), with the bound on what they see. Each is anchored or runs on
 * short or bounded text, so the worst case stays small; a new one needs a reason here.
 */
const POLYNOMIAL_OK: Record<string, string> = {
  '/^([^\\n{`]+?)\\s*(?=[{`]|$)/': 'model output, at most the context',
  '/^```(?:json)?\\s*([\\s\\S]*?)\\s*```$/': 'model output, at most the context',
  '/^([^\\n{`]+?)\\s*\\n```(?:json)?\\s*/': 'model output, at most the context',
  '/^([\\s\\S]*?)(\\s*)$/': 'model output, at most the context',
  '/\\/+$/': 'a URL or path given on the command line or by a registry',
  '/^-+|-+$/g': 'a JSON schema property or definition name',
  '/^([^/]+\\/[^/]+)\\/(?:resolve|blob)\\/([^/]+)\\/(.+\\.gguf)(?:\\?.*)?$/i': 'a pull URL (a request field, within the body limit)',
  '/^\\s*(\\d+(?:\\.\\d+)?)\\s*([kmgt]?)(i?)b?\\s*$/i': '--max-memory, typed by the operator',
  // the risk assessor's rules: they see one command or statement of a program the assistant wrote (at most its context)
  '/\\b(base64|base32)\\s+(-[a-zA-Z]*d|--decode)|\\bxxd\\s+-r|\\bopenssl\\b.*\\s-d\\b|\\bprintf\\s+[\'"]?(\\\\x|%b)/': 'one shell command being assessed',
  '/^\\s*(true|:|\\[\\s*1\\s*\\]|\\(\\(\\s*1\\s*\\)\\))\\s*;?\\s*$/': 'one loop condition being assessed',
  '/^\\s*;?\\s*$/': 'one statement being assessed',
};

function* sources(dir: string): Generator<string> {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) yield p;
  }
}

function literals(): { file: string; text: string }[] {
  const found: { file: string; text: string }[] = [];
  for (const file of sources(join(REPO_ROOT, 'src'))) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node): void => {
      if (n.kind === ts.SyntaxKind.RegularExpressionLiteral) found.push({ file: file.slice(REPO_ROOT.length + 1), text: n.getText() });
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return found;
}

/** recheck's verdict; its time limit is generous, since a busy machine can make a check run out of time ('unknown'). */
function check(source: string, flags: string) {
  return recheck.checkSync(source, flags.replace(/[gy]/g, ''), { timeout: 30_000 });
}

test('no regex literal in src/ is exponential; the polynomial ones are known and bounded', () => {
  const found = literals();
  assert.ok(found.length > 50, `found only ${found.length} literals`);
  const bad: string[] = [];
  for (const { file, text } of found) {
    const slash = text.lastIndexOf('/');
    const r = check(text.slice(1, slash), text.slice(slash + 1));
    if (r.status === 'safe') continue;
    const kind = r.status === 'vulnerable' ? r.complexity.type : r.status;
    if (kind === 'polynomial' && POLYNOMIAL_OK[text]) continue;
    bad.push(`${file}: ${text} is ${kind}`);
  }
  assert.deepEqual(bad, []);
});

test('the built-in pre-tokenizer patterns are not exponential', () => {
  let known: string[] = [];
  try {
    preTokenizerConfig('no-such-pre');
  } catch (e) {
    known = /known: (.*)$/.exec((e as Error).message)![1].split(', ');
  }
  assert.ok(known.length > 20);
  const seen = new Set<string>();
  for (const name of known) {
    for (const src of preTokenizerConfig(name).regexes) {
      if (seen.has(src)) continue;
      seen.add(src);
      assert.equal(hostilePattern(src), undefined, `${name}: ${src}`);
      const r = check(rewriteWhitespace(src), 'u');
      assert.ok(!(r.status === 'vulnerable' && r.complexity.type === 'exponential'), `${name}: ${src} is exponential`);
    }
  }
});

test('tokenizer.json patterns: the real ones compile, nested quantifiers and giant patterns are refused', () => {
  for (const family of ['llama3', 'qwen3', 'deepseek_v3', 'mistral-7b-v0.1', 'gemma3']) {
    const json = readFileSync(sharedPath('tokenizers', family, 'tokenizer.json'), 'utf8');
    for (const m of json.matchAll(/"Regex":\s*("(?:[^"\\]|\\.)*")/g)) compileHFRegex(JSON.parse(m[1]!) as string);
  }
  for (const src of ['(a+)+$', '(?:\\s*x?)*y', '((ab)*c)+', '(\\p{L}{1,3})+', 'x'.repeat(5000)]) {
    for (const compile of [compileHFRegex, compileSplitRegex]) {
      assert.throws(() => compile(src), (e) => e instanceof HearthError && e.code === 'tokenizer_invalid', src);
    }
  }
  // alternation and lookarounds are not nesting
  for (const src of ["'s|'t| ?\\p{L}+|\\s+(?!\\S)|\\s+", '(?i:\'s|\'t)|[^\\r\\n\\p{L}]?\\p{L}+', '(?:ab|cd)+', '(x)?y*']) {
    assert.equal(hostilePattern(src), undefined, src);
  }
});

let srv: TestServer;
before(async () => {
  srv = await startServer({ parallel: 1 });
});
after(() => srv.close());

test('a 30,000-digit keep_alive, or digits then junk, is a 400 in milliseconds on every Ollama endpoint', async () => {
  const bodies = [
    ['/api/generate', { model: 'stories260K', prompt: 'hi', stream: false, options: { num_predict: 1 } }],
    ['/api/chat', { model: 'stories260K', messages: [{ role: 'user', content: 'hi' }], stream: false, options: { num_predict: 1 } }],
    ['/api/embed', { model: 'stories260K', input: 'hi' }],
    ['/api/embeddings', { model: 'stories260K', prompt: 'hi' }],
  ] as const;
  for (const keepAlive of ['1'.repeat(30_000), '1'.repeat(40) + 'x', '1'.repeat(27) + 'x', `${'9'.repeat(400)}h`, 1e300]) {
    for (const [path, body] of bodies) {
      const t0 = performance.now();
      const r = await fetch(srv.base + path, { method: 'POST', body: JSON.stringify({ ...body, keep_alive: keepAlive }) });
      const ms = performance.now() - t0;
      const text = await r.text();
      assert.equal(r.status, 400, `${path} ${String(keepAlive).slice(0, 20)}: ${text.slice(0, 200)}`);
      assert.match(text, /keep_alive must be a duration/);
      assert.ok(text.length < 1000, 'the error does not echo the whole value');
      // before the fix 27 digits took 29.5 s; the bound leaves room for a machine busy with other work
      assert.ok(ms < 2000, `${path} took ${ms} ms`);
    }
  }
  const ok = await fetch(srv.base + '/api/generate', { method: 'POST', body: JSON.stringify({ ...bodies[0][1], keep_alive: '1h30m' }) });
  assert.equal(ok.status, 200);
});
