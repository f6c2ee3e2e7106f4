// The MCP stdio transport over a process in the sandbox: JSON-RPC messages, one a line, on its stdin and stdout
// (the SDK's own framing, shared/stdio.js). A line longer than the cap kills the server: a flood never fills memory.
// The last few KB of its stderr are kept for error messages.

import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Sandbox, SandboxProcess, SandboxProcessRequest } from '../../sandbox/types.ts';

const STDERR_KEPT = 4096;

export class SandboxStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** Why the process ended, where this transport knows (a flood). */
  failure: string | undefined;
  /** How the process ended (`exit status 3`, `signal SIGKILL`), once it has. */
  ended: string | undefined;
  private proc: SandboxProcess | undefined;
  private readonly buffer: ReadBuffer;
  private stderrTail = '';
  private readonly sandbox: Sandbox;
  private readonly request: SandboxProcessRequest;
  private readonly maxLineBytes: number;

  constructor(sandbox: Sandbox, request: SandboxProcessRequest, maxLineBytes: number) {
    this.sandbox = sandbox;
    this.request = request;
    this.maxLineBytes = maxLineBytes;
    this.buffer = new ReadBuffer({ maxBufferSize: maxLineBytes });
  }

  /** The end of what the server wrote to stderr. */
  get stderr(): string {
    return this.stderrTail;
  }

  async start(): Promise<void> {
    const proc = this.sandbox.spawn(this.request);
    this.proc = proc;
    proc.stdout.on('data', (chunk: Buffer) => {
      try {
        this.buffer.append(chunk);
      } catch {
        this.failure = `it wrote a message of more than ${this.maxLineBytes} bytes (max_output)`;
        this.onerror?.(new Error(this.failure));
        proc.kill();
        return;
      }
      for (;;) {
        let message: JSONRPCMessage | null;
        try {
          message = this.buffer.readMessage();
        } catch (e) {
          this.onerror?.(e as Error);
          continue;
        }
        if (message === null) break;
        this.onmessage?.(message);
      }
    });
    proc.stderr.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_KEPT);
    });
    proc.exited.then(({ exitCode, signal }) => {
      this.ended = exitCode !== null ? `exit status ${exitCode}` : `signal ${signal ?? 'unknown'}`;
      if (this.proc === proc) this.proc = undefined;
      this.buffer.clear();
      this.onclose?.();
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.proc?.stdin;
    if (!stdin) throw new Error('the MCP server is not running');
    await new Promise<void>((resolve) => {
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.kill();
    await proc.exited;
  }
}
