// `hearth serve` as a child process on loopback for the serving benchmarks: started with the given arguments
// (plus --port 0 and info logs), resolved once the model is ready, with the base URL it listens on.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ServeChild {
  base: string;
  child: ChildProcess;
  stop(): void;
}

/** Starts `node <hearth> serve <args...> --port 0 --log-level info` and waits for "model ready". */
export async function startServeChild(hearth: string, args: string[]): Promise<ServeChild> {
  const child = spawn(process.execPath, [hearth, 'serve', ...args, '--port', '0', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  let base = '';
  for await (const line of lines) {
    const msg = JSON.parse(line) as { msg: string };
    const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(msg.msg);
    if (m) base = m[1];
    if (msg.msg === 'model ready') break;
  }
  lines.on('line', () => {}); // keep draining the request log
  if (!base) {
    child.kill('SIGTERM');
    throw new Error('the server did not start');
  }
  return { base, child, stop: () => child.kill('SIGTERM') };
}
