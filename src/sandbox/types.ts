// The sandbox's interface: what a caller (hearth exec, the agent's run_code tool) asks for and what comes back.

export type SandboxLanguage = 'python' | 'node' | 'bash';
export const SANDBOX_LANGUAGES: readonly SandboxLanguage[] = ['python', 'node', 'bash'];

/** Limits of one run. Every field has a default (DEFAULT_LIMITS); a request overrides some. */
export interface SandboxLimits {
  /** Wall-clock time before the whole sandbox is killed, in milliseconds. */
  readonly wallMs: number;
  /** CPU seconds per process (RLIMIT_CPU: SIGXCPU at the limit, SIGKILL one second later). */
  readonly cpuSeconds: number;
  /** Processes and threads of the run's uid (RLIMIT_NPROC). */
  readonly processes: number;
  /** Address space per process, in bytes (RLIMIT_AS). */
  readonly memoryBytes: number;
  /** Largest file a process may write, in bytes (RLIMIT_FSIZE). */
  readonly fileBytes: number;
  /** Open file descriptors per process (RLIMIT_NOFILE). */
  readonly openFiles: number;
  /** Bytes kept of stdout and of stderr each; more kills the run. */
  readonly outputBytes: number;
  /** How much the workspace may grow during the run, in bytes (polled; the run is killed when it is over). */
  readonly diskBytes: number;
  /** Size of the private /tmp and /dev/shm (tmpfs), in bytes each. */
  readonly tmpBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  wallMs: 10_000,
  cpuSeconds: 10,
  processes: 64,
  memoryBytes: 2 * 2 ** 30,
  fileBytes: 64 * 2 ** 20,
  openFiles: 256,
  outputBytes: 1 * 2 ** 20,
  diskBytes: 256 * 2 ** 20,
  tmpBytes: 64 * 2 ** 20,
};

export interface SandboxRequest {
  readonly language: SandboxLanguage;
  /** The program's source; it is mounted read-only at /program/main.{py,mjs,sh}, never written to the workspace. */
  readonly code: string;
  /** A host folder, mounted at /workspace, the only writable place in the sandbox besides the private /tmp. */
  readonly workspace: string;
  readonly args?: readonly string[];
  readonly stdin?: string | Uint8Array;
  readonly limits?: Partial<SandboxLimits>;
  readonly signal?: AbortSignal;
}

export type LimitName = keyof SandboxLimits;

/**
 * A limit the run ran into. `how` says how it is known: `enforced` (this process killed the run: wall clock,
 * output, disk), `signal` (the kernel's signal for that rlimit ended a process: SIGXCPU, SIGXFSZ), or `inferred`
 * (the program's own error output names the failure the rlimit causes: EAGAIN on fork, ENOMEM, EMFILE, EFBIG).
 */
export interface LimitHit {
  readonly limit: LimitName;
  readonly value: number;
  readonly how: 'enforced' | 'signal' | 'inferred';
  readonly detail: string;
}

export interface SandboxResult {
  /** The program's exit status; null when it ended by a signal or was killed. */
  readonly exitCode: number | null;
  /** The signal that ended it (SIGKILL when the sandbox killed it). */
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  readonly durationMs: number;
  readonly limits: readonly LimitHit[];
  /** Processes of the run's uid still alive after the sandbox ended, killed by the sweep (0 when the pid namespace took them all). */
  readonly leftoverProcesses: number;
  readonly tier: SandboxTier;
  /** The host uid the sandboxed code ran as (unprivileged; unique to the run when Hearth is root). */
  readonly uid: number;
  /** Where the limits of this run came from: the defaults merged with the request's. */
  readonly appliedLimits: SandboxLimits;
}

export type SandboxTier = 'bwrap';

/** A long-lived process in the sandbox (an MCP server on stdio): the same walls as a run, no wall clock. */
export interface SandboxProcessRequest {
  /** An absolute path inside the sandbox (under /usr, or a `readOnly` mount), or `node`; then its arguments. */
  readonly command: readonly string[];
  /** A host folder mounted at /workspace: with the private /tmp, the only writable place. */
  readonly workspace: string;
  /** Environment variables inside; nothing of the host's environment goes in. */
  readonly env?: Readonly<Record<string, string>>;
  /** Host paths (files or folders) mounted read-only at the same path inside. */
  readonly readOnly?: readonly string[];
  /** Whether the process may use the network (the host's namespace, internet sockets); default none at all. */
  readonly network?: boolean;
  /** Resource limits (wallMs, outputBytes and diskBytes do not apply: the caller bounds what it reads). */
  readonly limits?: Partial<SandboxLimits>;
}

export interface SandboxProcess {
  readonly stdin: NodeJS.WritableStream;
  readonly stdout: NodeJS.ReadableStream;
  readonly stderr: NodeJS.ReadableStream;
  /** Settles when the process and its sandbox are gone (after the sweep of its uid). */
  readonly exited: Promise<{ exitCode: number | null; signal: string | null }>;
  /** Kills the whole sandbox (its process group; the uid's processes after). */
  kill(): void;
}

export interface Sandbox {
  readonly tier: SandboxTier;
  /** Runs one program. Throws HearthError('sandbox_unavailable') when the sandbox cannot start; never runs code outside it. */
  run(req: SandboxRequest): Promise<SandboxResult>;
  /** Starts a long-lived process; throws as `run` does before anything starts. */
  spawn(req: SandboxProcessRequest): SandboxProcess;
}
