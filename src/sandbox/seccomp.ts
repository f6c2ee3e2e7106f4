// The sandbox's seccomp filter, written as a classic-BPF program (what bwrap's --seccomp FD takes: an array of
// struct sock_filter, 8 bytes each, host byte order). The program checks the architecture (anything else is killed:
// a foreign ABI would bypass the syscall numbers), loads the syscall number and returns an errno for each denied call;
// socket() and socketpair() are allowed only for AF_UNIX, clone() only without namespace flags, and clone3() answers
// ENOSYS so that libc falls back to clone(), whose flags a filter can read (clone3 passes them in memory).
//
// struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }: nr at 0, arch at 4, args[i] at 16 + 8i
// (the low 32 bits first on little-endian x86-64).

import { HearthError } from '../util/errors.ts';

// BPF opcodes (linux/bpf_common.h)
const LD_W_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE_K = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const JSET_K = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET_K = 0x06; // BPF_RET | BPF_K

// Return values (linux/seccomp.h)
const RET_KILL_PROCESS = 0x80000000;
const RET_ALLOW = 0x7fff0000;
const retErrno = (errno: number) => 0x00050000 | (errno & 0xffff);

const EPERM = 1;
const ENOSYS = 38;
const EAFNOSUPPORT = 97;
const AF_UNIX = 1;

/** Every CLONE_NEW* flag clone() takes: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. */
const CLONE_NEW_MASK = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

const AUDIT_ARCH_X86_64 = 0xc000003e;
/** x32 syscalls are the x86-64 numbers with this bit set; the filter refuses them all. */
const X32_SYSCALL_BIT = 0x40000000;

/** Why each group of calls is denied: the names a test or a reader can check the filter against. */
export const DENIED_SYSCALLS = {
  tracing: ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd', 'perf_event_open'],
  mounts: ['mount', 'umount2', 'pivot_root', 'chroot', 'open_tree', 'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr'],
  namespaces: ['unshare', 'setns'],
  keyring: ['add_key', 'request_key', 'keyctl'],
  kernel: ['bpf', 'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'userfaultfd', 'kexec_load', 'kexec_file_load',
    'init_module', 'finit_module', 'delete_module', 'reboot', 'swapon', 'swapoff', 'acct', 'syslog', 'quotactl',
    'iopl', 'ioperm', 'vhangup', 'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex'],
  handles: ['name_to_handle_at', 'open_by_handle_at'],
} as const;

/** x86-64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl) of the calls the filter looks at. */
const X86_64: Record<string, number> = {
  socket: 41, socketpair: 53, clone: 56, clone3: 435,
  ptrace: 101, process_vm_readv: 310, process_vm_writev: 311, kcmp: 312, pidfd_getfd: 438, perf_event_open: 298,
  mount: 165, umount2: 166, pivot_root: 155, chroot: 161, open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431,
  fsmount: 432, fspick: 433, mount_setattr: 442,
  unshare: 272, setns: 308,
  add_key: 248, request_key: 249, keyctl: 250,
  bpf: 321, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, userfaultfd: 323, kexec_load: 246,
  kexec_file_load: 320, init_module: 175, finit_module: 313, delete_module: 176, reboot: 169, swapon: 167, swapoff: 168,
  acct: 163, syslog: 103, quotactl: 179, iopl: 172, ioperm: 173, vhangup: 153, settimeofday: 164, clock_settime: 227,
  clock_adjtime: 305, adjtimex: 159,
  name_to_handle_at: 303, open_by_handle_at: 304,
};

interface Insn { code: number; jt: number; jf: number; k: number }
const stmt = (code: number, k: number): Insn => ({ code, jt: 0, jf: 0, k });
const jump = (code: number, k: number, jt: number, jf: number): Insn => ({ code, jt, jf, k });

/** What a filter lets through beyond the base: `network` allows internet sockets (AF_INET, AF_INET6) too. */
export interface SeccompOptions {
  readonly network?: boolean;
}

const AF_INET = 2;
const AF_INET6 = 10;

/** The filter's instructions, for the machine's architecture; throws sandbox_unavailable on one it has no table for. */
export function seccompInstructions(arch: string = process.arch, options: SeccompOptions = {}): Insn[] {
  if (arch !== 'x64') throw new HearthError('sandbox_unavailable', `the seccomp filter has syscall numbers for x86-64 only, not ${arch}`);
  const nr = X86_64;
  const p: Insn[] = [
    stmt(LD_W_ABS, 4), // arch
    jump(JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
    stmt(RET_K, RET_KILL_PROCESS),
    stmt(LD_W_ABS, 0), // nr
    jump(JGE_K, X32_SYSCALL_BIT, 0, 1),
    stmt(RET_K, retErrno(ENOSYS)),
  ];
  // socket(domain, …), socketpair(domain, …): AF_UNIX only. Each block ends in a return, so nr need not be reloaded.
  // With network, socket() also takes AF_INET and AF_INET6 (socketpair stays AF_UNIX: it is local by nature).
  for (const call of ['socket', 'socketpair']) {
    const inet = options.network === true && call === 'socket';
    if (inet) {
      p.push(jump(JEQ_K, nr[call]!, 0, 6), stmt(LD_W_ABS, 16), jump(JEQ_K, AF_UNIX, 3, 0), jump(JEQ_K, AF_INET, 2, 0),
        jump(JEQ_K, AF_INET6, 1, 0), stmt(RET_K, retErrno(EAFNOSUPPORT)), stmt(RET_K, RET_ALLOW));
    } else {
      p.push(jump(JEQ_K, nr[call]!, 0, 4), stmt(LD_W_ABS, 16), jump(JEQ_K, AF_UNIX, 0, 1), stmt(RET_K, RET_ALLOW),
        stmt(RET_K, retErrno(EAFNOSUPPORT)));
    }
  }
  // clone(flags, …) without any CLONE_NEW* flag; clone3 → ENOSYS (glibc then uses clone).
  p.push(jump(JEQ_K, nr.clone!, 0, 4), stmt(LD_W_ABS, 16), jump(JSET_K, CLONE_NEW_MASK, 0, 1), stmt(RET_K, retErrno(EPERM)),
    stmt(RET_K, RET_ALLOW));
  p.push(jump(JEQ_K, nr.clone3!, 0, 1), stmt(RET_K, retErrno(ENOSYS)));
  for (const name of Object.values(DENIED_SYSCALLS).flat()) {
    const n = nr[name];
    if (n === undefined) throw new HearthError('internal', `no x86-64 number for ${name}`);
    p.push(jump(JEQ_K, n, 0, 1), stmt(RET_K, retErrno(EPERM)));
  }
  p.push(stmt(RET_K, RET_ALLOW));
  return p;
}

/** The compiled program: struct sock_filter[] in little-endian, ready for bwrap --seccomp FD. */
export function seccompProgram(arch: string = process.arch, options: SeccompOptions = {}): Buffer {
  const insns = seccompInstructions(arch, options);
  if (insns.length > 4096) throw new HearthError('internal', 'seccomp program longer than BPF_MAXINSNS');
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach((ins, i) => {
    buf.writeUInt16LE(ins.code, i * 8);
    buf.writeUInt8(ins.jt, i * 8 + 2);
    buf.writeUInt8(ins.jf, i * 8 + 3);
    buf.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return buf;
}

/**
 * Runs the program on one syscall, as the kernel would (the subset of classic BPF the program uses): the unit
 * tests check the filter's decisions with it, and the escape battery checks the same decisions in the kernel.
 */
export function evaluateSeccomp(program: Buffer, data: { arch: number; nr: number; args?: number[] }): number {
  const word = (off: number): number => {
    if (off === 0) return data.nr >>> 0;
    if (off === 4) return data.arch >>> 0;
    if (off >= 16 && (off - 16) % 8 === 0) return (data.args?.[(off - 16) / 8] ?? 0) >>> 0;
    throw new Error(`load at offset ${off}`);
  };
  let acc = 0;
  for (let pc = 0; pc < program.length / 8;) {
    const code = program.readUInt16LE(pc * 8), jt = program[pc * 8 + 2]!, jf = program[pc * 8 + 3]!;
    const k = program.readUInt32LE(pc * 8 + 4);
    switch (code) {
      case LD_W_ABS: acc = word(k); pc++; break;
      case JEQ_K: pc += 1 + (acc === k ? jt : jf); break;
      case JGE_K: pc += 1 + (acc >= k ? jt : jf); break;
      case JSET_K: pc += 1 + ((acc & k) !== 0 ? jt : jf); break;
      case RET_K: return k;
      default: throw new Error(`opcode ${code}`);
    }
  }
  throw new Error('program fell off the end');
}

export const SECCOMP = { AUDIT_ARCH_X86_64, RET_ALLOW, RET_KILL_PROCESS, retErrno, syscalls: X86_64, EPERM, ENOSYS, EAFNOSUPPORT } as const;
