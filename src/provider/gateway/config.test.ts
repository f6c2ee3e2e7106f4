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
  assert.equal(c.mcpServers.size, 0);
  assert.equal(parse('').providers.size, 0);
});

test('mcp_servers: stdio and Streamable HTTP servers by label, defaults, secrets only from the environment or the store', () => {
  const c = parse(`mcp_servers:
  files:
    command: node
    args: [/srv/mcp/files.js, --root, /workspace]
    env: { TOKEN: \${OPENAI_API_KEY}, STORED: secret:vllm }
    workspace: /var/lib/hearth/mcp/files
    read_only: [/srv/mcp]
    call_timeout: 5s
  search:
    url: https://mcp.example.com/mcp
    headers: { Authorization: "Bearer \${ANTHROPIC_API_KEY}", X-Key: secret:vllm }
    network: true
`.replace('    network: true\n', ''));
  const files = c.mcpServers.get('files')!;
  assert.equal(files.transport, 'stdio');
  if (files.transport !== 'stdio') return;
  assert.deepEqual(files.args, ['/srv/mcp/files.js', '--root', '/workspace']);
  assert.deepEqual(files.env, { TOKEN: 'sk-o', STORED: 'stored' });
  assert.equal(files.network, false);
  assert.equal(files.callTimeoutMs, 5000);
  assert.equal(files.idleTimeoutMs, 600_000);
  assert.deepEqual(files.readOnly, ['/srv/mcp']);
  const search = c.mcpServers.get('search')!;
  assert.equal(search.transport, 'http');
  if (search.transport === 'http') assert.deepEqual(search.headers, { Authorization: 'Bearer sk-a', 'X-Key': 'stored' });
});

test('mcp_servers: every mistake names its line', () => {
  const cases: [string, RegExp][] = [
    ['mcp_servers:\n  f:\n    command: node\n    workspace: /w\n    env: { TOKEN: sk-literal }\n', /config.yaml:5: mcp_servers.f.env.TOKEN: a secret written in the file is refused/],
    ['mcp_servers:\n  f:\n    command: node\n    workspace: /w\n    env: { TOKEN: "\${MISSING}" }\n', /config.yaml:5: .*MISSING is not set/],
    ['mcp_servers:\n  f:\n    command: npx\n    workspace: /w\n', /config.yaml:3: mcp_servers.f.command must be node or an absolute path/],
    ['mcp_servers:\n  f:\n    command: node\n', /config.yaml:3: mcp_servers.f.workspace is required/],
    ['mcp_servers:\n  f:\n    command: node\n    workspace: rel/dir\n', /config.yaml:4: .*absolute path/],
    ['mcp_servers:\n  f:\n    command: node\n    workspace: /w\n    network: yes please\n', /config.yaml:5: mcp_servers.f.network must be true or false/],
    ['mcp_servers:\n  f:\n    command: node\n    workspace: /w\n    url: http://x\n', /config.yaml:3: mcp_servers.f: give either command/],
    ['mcp_servers:\n  f:\n    url: http://x\n    network: true\n', /config.yaml:4: mcp_servers.f: unknown key "network"/],
    ['mcp_servers:\n  f:\n    url: ftp://x\n', /config.yaml:3: .*http:\/\/ or https:\/\//],
    ['mcp_servers:\n  f:\n    url: http://u:p@x\n', /config.yaml:3: .*credentials in the URL/],
    ['mcp_servers:\n  f:\n    url: http://x\n    headers: { Authorization: Bearer sk-literal }\n', /config.yaml:4: .*a value written in the file is refused/],
    ['mcp_servers:\n  f:\n    url: http://x\n    call_timeout: soon\n', /config.yaml:4: .*duration/],
    ['mcp_servers:\n  bad/label:\n    url: http://x\n', /config.yaml:2: MCP server label/],
    ['mcp_servers:\n  - { name: fs, command: node }\n', /config.yaml:2: mcp_servers must be a mapping/],
  ];
  for (const [text, re] of cases) assert.throws(() => parse(text), re, text);
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
