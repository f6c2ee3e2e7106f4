import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DENIED_SYSCALLS, evaluateSeccomp, SECCOMP, seccompProgram } from './seccomp.ts';

const prog = seccompProgram('x64');
const X64 = SECCOMP.AUDIT_ARCH_X86_64;
const call = (name: string, args?: number[]) => evaluateSeccomp(prog, { arch: X64, nr: SECCOMP.syscalls[name]!, args });
const EPERM = SECCOMP.retErrno(SECCOMP.EPERM);

test('the filter is a whole number of 8-byte instructions, within BPF_MAXINSNS', () => {
  assert.equal(prog.length % 8, 0);
  assert.ok(prog.length / 8 < 4096);
});

test('every denied call answers EPERM; ordinary calls are allowed', () => {
  for (const name of Object.values(DENIED_SYSCALLS).flat()) assert.equal(call(name), EPERM, name);
  for (const nr of [0, 1, 2, 3, 9, 57, 59, 60, 231, 257]) assert.equal(evaluateSeccomp(prog, { arch: X64, nr }), SECCOMP.RET_ALLOW, `nr ${nr}`);
});

test('sockets: AF_UNIX only', () => {
  assert.equal(call('socket', [1, 1, 0]), SECCOMP.RET_ALLOW);
  assert.equal(call('socketpair', [1, 1, 0]), SECCOMP.RET_ALLOW);
  for (const family of [2, 10, 16, 17]) {
    assert.equal(call('socket', [family, 1, 0]), SECCOMP.retErrno(SECCOMP.EAFNOSUPPORT), `family ${family}`);
    assert.equal(call('socketpair', [family, 1, 0]), SECCOMP.retErrno(SECCOMP.EAFNOSUPPORT));
  }
});

test('with network: socket() also takes AF_INET and AF_INET6, nothing else; socketpair stays AF_UNIX', () => {
  const net = seccompProgram('x64', { network: true });
  const netCall = (name: string, args: number[]) => evaluateSeccomp(net, { arch: X64, nr: SECCOMP.syscalls[name]!, args });
  for (const family of [1, 2, 10]) assert.equal(netCall('socket', [family, 1, 0]), SECCOMP.RET_ALLOW, `family ${family}`);
  for (const family of [16, 17, 40]) assert.equal(netCall('socket', [family, 1, 0]), SECCOMP.retErrno(SECCOMP.EAFNOSUPPORT), `family ${family}`);
  assert.equal(netCall('socketpair', [2, 1, 0]), SECCOMP.retErrno(SECCOMP.EAFNOSUPPORT));
  assert.equal(netCall('ptrace', []), EPERM);
});

test('clone without namespace flags runs; with any CLONE_NEW* it is refused; clone3 is ENOSYS', () => {
  assert.equal(call('clone', [0x01200011]), SECCOMP.RET_ALLOW); // fork(): CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD
  assert.equal(call('clone', [0x003d0f00]), SECCOMP.RET_ALLOW); // pthread_create's flags
  for (const f of [0x10000000, 0x40000000, 0x00020000, 0x20000000]) assert.equal(call('clone', [f | 17]), EPERM);
  assert.equal(call('clone3'), SECCOMP.retErrno(SECCOMP.ENOSYS));
});

test('another architecture is killed, x32 numbers are ENOSYS', () => {
  assert.equal(evaluateSeccomp(prog, { arch: 0x40000003, nr: 1 }), SECCOMP.RET_KILL_PROCESS); // i386
  assert.equal(evaluateSeccomp(prog, { arch: X64, nr: 0x40000000 + 41 }), SECCOMP.retErrno(SECCOMP.ENOSYS));
});

test('an architecture without a syscall table has no filter, so no sandbox', () => {
  assert.throws(() => seccompProgram('arm64'), /x86-64 only/);
});
