// The set-up contract: a fresh machine needs only the README's two commands, and CI (.ci/run) runs exactly
// those on a clean clone. So anything the tests need must be installed by `npm run setup`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './shared.ts';

const read = (p: string) => readFileSync(join(REPO_ROOT, p), 'utf8');

/** The commands of the README's "Set up and test" code block, comments dropped. */
function readmeCommands(): string[] {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('## Set up and test'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
}

/** The commands .ci/run executes, with leading VAR=value assignments dropped. */
function ciCommands(): string[] {
  return read('.ci/run').split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !/^(set|cd) /.test(l))
    .map((l) => l.replace(/^(\w+=\S*\s+)+/, ''));
}

test('.ci/run runs exactly the README\'s two commands', () => {
  const readme = readmeCommands();
  assert.deepEqual(readme, ['npm run setup', 'npm test']);
  assert.deepEqual(ciCommands(), readme);
});

test('npm run setup installs the system packages, the npm packages and the reference; npm test type-checks first', () => {
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.setup, /scripts\/install-system-deps\.sh/);
  assert.match(pkg.scripts.setup, /npm install/);
  assert.match(pkg.scripts.postinstall, /postinstall\.js/);
  assert.match(read('scripts/postinstall.js'), /test\/reference/);
  // What the tests call on the system: Mesa for WebGPU on llvmpipe, cc for ggml-cpu-harness.c, bubblewrap and
  // util-linux (prlimit, setpriv) for the sandbox, python3 as one of its languages, PostgreSQL, Redis and nginx for
  // the cluster tests (scripts/cluster.sh).
  const deps = read('scripts/install-system-deps.sh');
  for (const p of ['libegl1', 'libegl-dev', 'libegl-mesa0', 'libgl1-mesa-dri', 'gcc', 'libc6-dev', 'bubblewrap', 'util-linux', 'python3',
    'postgresql', 'redis-server', 'nginx']) {
    assert.match(deps, new RegExp(`PACKAGES=\\([^)]*\\b${p}\\b`), `install-system-deps.sh does not install ${p}`);
  }
  assert.match(read('scripts/test.js'), /typescript\/bin\/tsc/);
});
