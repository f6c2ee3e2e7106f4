// The gateway config: the example file parses (providers of every type, aliases, defaults), secrets come only
// from the environment or the secret store, and every mistake is an error naming its line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGatewayConfig, type SecretSource } from './config.ts';

const secrets: SecretSource = { env: { OPENAI_API_KEY: 'sk-o', ANTHROPIC_API_KEY: 'sk-a' }, secret: (n) => (n === 'vllm' ? 'stored' : undefined) };
const parse = (text: string) => parseGatewayConfig(text, 'config.yaml', secrets);

const EXAMPLE = `providers:
  openai:    { type: openai,    base_url: https://api.openai.com/v1, api_key: \${OPENAI_API_KEY} }
  claude:    { type: anthropic, api_key: \${ANTHROPIC_API_KEY} }
  lab:       { type: ollama,    base_url: http://192.168.1.20:11434 }
  studio:    { type: lmstudio }                      # default base_url http://localhost:1234/v1
  vllm:      { type: openai-compatible, base_url: http://gpu-box:8000/v1, timeout: 120s, api_key: secret:vllm }
models:
  smart:     { route: [claude/claude-sonnet-4-5, openai/gpt-4.1, lab/qwen3:8b] }   # fallback order
  vision:    { route: [studio/qwen2.5-vl-7b, claude/claude-sonnet-4-5] }
`;

test('the example config: every provider type, defaults, secrets from the environment and the store, aliases', () => {
  const c = parse(EXAMPLE);
  assert.deepEqual([...c.providers.keys()], ['openai', 'claude', 'lab', 'studio', 'vllm']);
  assert.equal(c.providers.get('claude')!.baseUrl, 'https://api.anthropic.com');
  assert.equal(c.providers.get('claude')!.apiKey, 'sk-a');
  assert.equal(c.providers.get('studio')!.baseUrl, 'http://localhost:1234/v1');
  assert.equal(c.providers.get('studio')!.dialect, 'openai');
  assert.equal(c.providers.get('vllm')!.apiKey, 'stored');
  assert.deepEqual(c.providers.get('vllm')!.timeouts, { connectMs: 10_000, firstByteMs: 120_000, idleMs: 120_000 });
  assert.deepEqual(c.models.get('smart')!.route.at(-1), { provider: 'lab', model: 'qwen3:8b' });
  assert.equal(c.mcpServers, undefined);
  assert.equal(parse('').providers.size, 0);
});

test('mcp_servers is accepted and kept as parsed, unvalidated', () => {
  const c = parse('mcp_servers:\n  - { name: fs, command: [npx, fs-server], anything: 1 }\n');
  assert.deepEqual(c.mcpServers, [{ name: 'fs', command: ['npx', 'fs-server'], anything: 1 }]);
});

test('errors name the line', () => {
  const cases: [string, RegExp][] = [
    ['providers:\n  x: { type: openai, api_key: sk-literal-secret }\n', /config.yaml:2: providers.x.api_key: a secret written in the file is refused/],
    ['providers:\n  x: { type: openai, api_key: "${MISSING}" }\n', /config.yaml:2: .*MISSING is not set/],
    ['providers:\n  x: { type: openai, api_key: secret:nope }\n', /config.yaml:2: .*no stored secret "nope"/],
    ['providers:\n  x:\n    type: grpc\n', /config.yaml:3: providers.x.type must be one of/],
    ['providers:\n  x: { type: openai-compatible }\n', /config.yaml:2: providers.x.base_url is required/],
    ['providers:\n  x:\n    type: ollama\n    base_url: ftp://h\n', /config.yaml:4: .*http:\/\/ or https:\/\//],
    ['providers:\n  x:\n    type: ollama\n    base_url: http://u:p@h\n', /config.yaml:4: .*credentials in the URL/],
    ['providers:\n  x:\n    type: ollama\n    timeout: soon\n', /config.yaml:4: .*duration/],
    ['providers:\n  x:\n    type: ollama\n    colour: red\n', /config.yaml:4: providers.x: unknown key "colour"/],
    ['providers: {}\nmodels:\n  a: { route: [nobody/m] }\n', /config.yaml:3: .*"nobody" is not a provider/],
    ['providers:\n  x: { type: ollama }\nmodels:\n  a: { route: [] }\n', /config.yaml:4: models.a.route must be a list/],
    ['providers:\n  x: { type: ollama }\nplugins: []\n', /config.yaml:3: the file: unknown key "plugins"/],
    ['providers:\n  x: { type: ollama\n', /config.yaml:\d+: /],
    ['providers:\n  x: { type: ollama }\n  x: { type: ollama }\n', /config.yaml:3: /],
  ];
  for (const [text, re] of cases) assert.throws(() => parse(text), re, text);
});
