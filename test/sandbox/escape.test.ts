// The sandbox escape battery: each probe is a program that tries to get out, and each must be contained, with the
// limit that stopped it reported where a limit did. Every test has a time bound. Runs where the sandbox works
// (bubblewrap from scripts/install-system-deps.sh); elsewhere the first test shows that nothing runs.

import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, mkdirSync, writeFileSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { bwrapSandbox } from '../../src/sandbox/bwrap-sandbox.ts';
import { processesOf } from '../../src/sandbox/host.ts';
import { isHearthError } from '../../src/util/errors.ts';
import type { Sandbox, SandboxRequest, SandboxResult, LimitName } from '../../src/sandbox/types.ts';

const T = { timeout: 40_000 };
let sb: Sandbox;
let root: string;
let workspace: string;
let hostSecretFile: string;
const HOST_SECRET = `host-secret-${randomBytes(8).toString('hex')}`;
const ENV_SECRET = `env-secret-${randomBytes(8).toString('hex')}`;

before(async () => {
  const s = bwrapSandbox();
  await s.probe();
  sb = s;
  root = mkdtempSync(join(tmpdir(), 'hearth-escape-'));
  chmodSync(root, 0o711); // the sandbox's uid must reach the workspace below it
  workspace = join(root, 'workspace');
  mkdirSync(workspace);
  hostSecretFile = join(root, 'outside.txt');
  writeFileSync(hostSecretFile, HOST_SECRET);
  process.env.HEARTH_ESCAPE_SECRET = ENV_SECRET;
});
after(() => {
  delete process.env.HEARTH_ESCAPE_SECRET;
  rmSync(root, { recursive: true, force: true });
});

async function run(t: TestContext, language: SandboxRequest['language'], code: string, limits?: SandboxRequest['limits'], sandbox = sb): Promise<SandboxResult> {
  const r = await sandbox.run({ language, code, workspace, limits: { wallMs: 10_000, ...limits } });
  const end = r.exitCode !== null ? `exit ${r.exitCode}` : r.signal;
  t.diagnostic(`${language}: ${end} after ${Math.round(r.durationMs)} ms; limits: ${r.limits.map((h) => `${h.limit} (${h.how}: ${h.detail})`).join('; ') || 'none'}`);
  // Whatever happened, nothing of the run's uid is alive afterwards.
  assert.deepEqual(processesOf(r.uid), [], 'a process of the run outlived it');
  return r;
}

const hit = (r: SandboxResult, limit: LimitName) => r.limits.find((h) => h.limit === limit);

test('no sandbox, no run: missing bubblewrap is a typed error', () => {
  assert.throws(() => bwrapSandbox({ searchPath: ['/nonexistent'] }), (e) => isHearthError(e, 'sandbox_unavailable'));
});

test('reading /etc/shadow, a host file outside the workspace, and through /proc/1/root', T, async (t) => {
  const r = await run(t, 'python', `
import os
for p in ['/etc/shadow', ${JSON.stringify(hostSecretFile)}, '/proc/1/root/etc/shadow', '/proc/self/root/etc/passwd']:
    try:
        print(p, 'READ', open(p).read()[:40])
    except OSError as e:
        print(p, 'DENIED', type(e).__name__)
print('root', sorted(os.listdir('/')))
`);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /READ/);
  assert.ok(!r.stdout.includes(HOST_SECRET));
  assert.match(r.stdout, /root \['bin', 'dev', 'lib', 'lib64', 'opt', 'proc', 'program', 'sbin', 'tmp', 'usr', 'workspace'\]/);
});

test('writing outside the workspace: /usr, /, the host path of a sibling folder; /tmp is private', T, async (t) => {
  const target = join(root, 'written-from-inside');
  const r = await run(t, 'bash', `
for p in /usr/evil /evil ${target} /tmp/private; do
  if echo x > "$p" 2>/dev/null; then echo "$p WROTE"; else echo "$p DENIED"; fi
done
echo in-workspace > /workspace/ok.txt && echo workspace WROTE
`);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /\/usr\/evil DENIED/);
  assert.match(r.stdout, /^\/evil DENIED/m);
  assert.ok(!existsSync(target), 'a file appeared outside the workspace');
  assert.ok(!existsSync('/tmp/private'), "the sandbox's /tmp is the host's");
  assert.match(r.stdout, /workspace WROTE/);
  assert.ok(existsSync(join(workspace, 'ok.txt')));
});

test('network: TCP and UDP to listeners on 127.0.0.1, a Unix socket on the host (path and abstract)', T, async (t) => {
  let tcpConnections = 0, udpPackets = 0, unixConnections = 0;
  const tcp: Server = createServer(() => { tcpConnections++; });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const tcpPort = (tcp.address() as { port: number }).port;
  const udp: Socket = createSocket('udp4');
  udp.on('message', () => { udpPackets++; });
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const udpPort = udp.address().port;
  const sockPath = join(root, 'host.sock');
  const unix = createServer(() => { unixConnections++; });
  await new Promise<void>((r) => unix.listen(sockPath, r));
  const abstractName = `hearth-escape-${randomBytes(4).toString('hex')}`;
  const abstract = createServer(() => { unixConnections++; });
  await new Promise<void>((r) => abstract.listen(`\0${abstractName}`, r));
  try {
    const r = await run(t, 'python', `
import socket
def attempt(name, fn):
    try:
        fn(); print(name, 'CONNECTED')
    except OSError as e:
        print(name, 'DENIED', e.errno, type(e).__name__)
attempt('tcp', lambda: socket.create_connection(('127.0.0.1', ${tcpPort}), timeout=2))
attempt('tcp6', lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM))
attempt('udp', lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', ${udpPort})))
attempt('raw', lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))
attempt('netlink', lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
def unix(addr):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(2); s.connect(addr)
attempt('unix', lambda: unix(${JSON.stringify(sockPath)}))
attempt('abstract', lambda: unix('\\0${abstractName}'))
`);
    assert.equal(r.exitCode, 0, r.stderr);
    for (const name of ['tcp', 'tcp6', 'udp', 'raw', 'netlink', 'unix', 'abstract']) assert.match(r.stdout, new RegExp(`^${name} DENIED`, 'm'), r.stdout);
    // the seccomp filter refuses every socket family but AF_UNIX (errno 97, EAFNOSUPPORT)
    assert.match(r.stdout, /^tcp DENIED 97/m);
    assert.match(r.stdout, /^udp DENIED 97/m);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual([tcpConnections, udpPackets, unixConnections], [0, 0, 0]);
    // Node's net module meets the same filter.
    const n = await run(t, 'node', `
import net from 'node:net';
const s = net.connect(${tcpPort}, '127.0.0.1');
s.on('connect', () => { console.log('CONNECTED'); process.exit(0); });
s.on('error', (e) => { console.log('DENIED', e.code); });
`);
    assert.match(n.stdout, /DENIED EAFNOSUPPORT/);
    assert.equal(tcpConnections, 0);
  } finally {
    tcp.close(); udp.close(); unix.close(); abstract.close();
  }
});

test('an environment secret of the Hearth process is not visible (environ, /proc)', T, async (t) => {
  const r = await run(t, 'bash', `
env
cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'
cat /proc/1/cmdline /proc/*/cmdline 2>/dev/null | tr '\\0' ' '
echo
ls /proc | grep -E '^[0-9]+$' | wc -l
`);
  assert.ok(!r.stdout.includes(ENV_SECRET), 'the secret leaked');
  assert.ok(!r.stdout.includes('HEARTH_ESCAPE_SECRET'));
  // its own pid namespace: bwrap's init, bash and the few commands above
  const pids = Number(r.stdout.trim().split('\n').at(-1));
  assert.ok(pids > 0 && pids < 10, `pids visible: ${pids}`);
});

test('a fork bomb stops at the process limit', T, async (t) => {
  const r = await run(t, 'bash', ':(){ :|:& };:; sleep 2; echo survived', { processes: 32, wallMs: 8000 });
  assert.ok(hit(r, 'processes'), `limits: ${JSON.stringify(r.limits)}\n${r.stderr.slice(0, 500)}`);
  // the host still forks
  assert.ok(processesOf(r.uid).length === 0);
});

test('allocating 8 GB stops at the address-space limit (Python, Node)', T, async (t) => {
  const py = await run(t, 'python', 'b = bytearray(8 * 2**30)\nprint("ALLOCATED", len(b))');
  assert.doesNotMatch(py.stdout, /ALLOCATED/);
  assert.ok(hit(py, 'memoryBytes'), JSON.stringify(py.limits) + py.stderr);
  const js = await run(t, 'node', 'const b = Buffer.alloc(8 * 2 ** 30, 1); console.log("ALLOCATED", b.length);');
  assert.doesNotMatch(js.stdout, /ALLOCATED/);
  assert.ok(hit(js, 'memoryBytes'), JSON.stringify(js.limits) + js.stderr);
});

test('filling the disk: one file stops at the file-size limit, many files at the workspace cap, /tmp at its size', T, async (t) => {
  const one = await run(t, 'bash', 'dd if=/dev/zero of=/workspace/big bs=1M count=1000 2>&1; echo done', { fileBytes: 16 * 2 ** 20 });
  assert.ok(hit(one, 'fileBytes'), JSON.stringify(one.limits) + one.stdout + one.stderr);
  rmSync(join(workspace, 'big'), { force: true });
  const many = await run(t, 'python', `
import os
i = 0
while True:
    with open(f'/workspace/fill-{i}', 'wb') as f:
        f.write(b'\\0' * (8 * 2**20))
    i += 1
`, { fileBytes: 16 * 2 ** 20, diskBytes: 64 * 2 ** 20, wallMs: 20_000 });
  assert.ok(hit(many, 'diskBytes'), JSON.stringify(many.limits) + many.stderr.slice(0, 300));
  for (const f of readdirSync(workspace)) if (f.startsWith('fill-')) rmSync(join(workspace, f));
  const tmp = await run(t, 'bash', 'cat /dev/zero > /tmp/fill; echo status $?', { tmpBytes: 8 * 2 ** 20 });
  assert.ok(hit(tmp, 'tmpBytes'), JSON.stringify(tmp.limits) + tmp.stderr);
  // empty files cost no bytes, but a walk over millions of them would stall the poll: the entry count is capped too
  const small = bwrapSandbox({ maxWorkspaceEntries: 2000 });
  const files = await run(t, 'python', 'import os\nos.makedirs("/workspace/many", exist_ok=True)\nfor i in range(10**7):\n    open(f"/workspace/many/{i}", "w").close()', { wallMs: 30_000 }, small);
  assert.ok(hit(files, 'diskBytes'), JSON.stringify(files.limits) + files.stderr.slice(0, 300));
  rmSync(join(workspace, 'many'), { recursive: true, force: true });
});

test('spinning forever stops at the CPU limit, or the wall clock when it sleeps', T, async (t) => {
  // a generous wall clock: on a loaded machine one CPU second can take several seconds of wall time
  const spin = await run(t, 'python', 'while True: pass', { cpuSeconds: 1, wallMs: 20_000 });
  assert.ok(hit(spin, 'cpuSeconds'), JSON.stringify(spin.limits));
  assert.equal(spin.signal, 'SIGXCPU');
  const sleep = await run(t, 'bash', 'sleep 1000', { wallMs: 500 });
  assert.ok(hit(sleep, 'wallMs'), JSON.stringify(sleep.limits));
  assert.equal(sleep.signal, 'SIGKILL');
  assert.ok(sleep.durationMs < 5000);
});

test('creating a user namespace (unshare -U, unshare(2) from Python, clone flags) is refused', T, async (t) => {
  const sh = await run(t, 'bash', 'unshare -U true && echo CREATED || echo DENIED; unshare -rn true && echo CREATED2 || echo DENIED2');
  assert.doesNotMatch(sh.stdout, /CREATED/);
  const py = await run(t, 'python', `
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWNS = 0x10000000, 0x40000000, 0x00020000
for name, flags in [('user', CLONE_NEWUSER), ('net', CLONE_NEWNET), ('mount', CLONE_NEWNS)]:
    rc = libc.unshare(flags)
    print(name, 'CREATED' if rc == 0 else 'DENIED', ctypes.get_errno())
print('userns max', open('/proc/sys/user/max_user_namespaces').read().strip())
`);
  assert.equal(py.exitCode, 0, py.stderr);
  assert.doesNotMatch(py.stdout, /CREATED/);
  assert.match(py.stdout, /^user DENIED 1$/m); // EPERM, from the filter
});

test('ptrace of another process is refused', T, async (t) => {
  const r = await run(t, 'python', `
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0:
    time.sleep(30); os._exit(0)
PTRACE_ATTACH, PTRACE_SEIZE = 16, 0x4206
for name, req in [('attach', PTRACE_ATTACH), ('seize', PTRACE_SEIZE)]:
    rc = libc.ptrace(req, pid, None, None)
    print(name, 'TRACED' if rc == 0 else 'DENIED', ctypes.get_errno())
try:
    open(f'/proc/{pid}/mem', 'rb').read(1); print('mem READ')
except OSError as e:
    print('mem DENIED', e.errno)
os.kill(pid, 9)
`);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /TRACED|mem READ/);
  assert.match(r.stdout, /^attach DENIED 1$/m);
});

test('a process left running after the run is gone when the run ends', T, async (t) => {
  const r = await run(t, 'bash', 'sleep 300 & disown; (setsid sleep 301 &); nohup sleep 302 >/dev/null 2>&1 & echo started');
  assert.match(r.stdout, /started/);
  assert.ok(r.durationMs < 5000);
  // run() asserts that no process of the uid is alive: the end of the pid namespace kills them, and the sweep of
  // the run's uid catches any the kernel had not finished killing when bwrap exited.
  assert.ok(r.leftoverProcesses <= 3);
});

test('the workspace is the run uid\'s during the run and its owner\'s again after it', T, async (t) => {
  writeFileSync(join(workspace, 'mine.txt'), 'x');
  const r = await run(t, 'bash', 'echo new > made.txt; mkdir -p d/e; stat -c %u mine.txt');
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout.trim(), '1000'); // inside, the run's uid is 1000
  const me = process.getuid!();
  for (const f of ['mine.txt', 'made.txt', 'd', 'd/e']) assert.equal(statSync(join(workspace, f)).uid, me, f);
  rmSync(join(workspace, 'd'), { recursive: true });
});

test('sandboxed code runs as an unprivileged uid with no capabilities', T, async (t) => {
  const r = await run(t, 'bash', 'id -u; grep -E "^Cap(Eff|Prm|Bnd)" /proc/self/status; grep NoNewPrivs /proc/self/status; grep Seccomp: /proc/self/status');
  assert.match(r.stdout, /^1000$/m);
  assert.match(r.stdout, /CapEff:\s+0000000000000000/);
  assert.match(r.stdout, /CapBnd:\s+0000000000000000/);
  assert.match(r.stdout, /NoNewPrivs:\s+1/);
  assert.match(r.stdout, /Seccomp:\s+2/);
  assert.ok(r.uid !== 0 && r.uid !== process.getuid?.());
});

test('output past the cap kills the run and is truncated', T, async (t) => {
  const r = await run(t, 'python', 'import sys\nwhile True: sys.stdout.write("x" * 65536)', { outputBytes: 100_000 });
  assert.ok(hit(r, 'outputBytes'));
  assert.equal(r.stdout.length, 100_000);
  assert.equal(r.stdoutTruncated, true);
});
