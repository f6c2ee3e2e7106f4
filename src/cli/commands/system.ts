// hearth system [--json]: cores, memory, the cgroup's memory limit and WebGPU adapters.

import { parse } from '../args.ts';
import { systemInfo } from '../../engine/system.ts';
import type { Command } from '../main.ts';

const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;

export const command: Command = {
  summary: 'describe this machine',
  async run(argv) {
    const { values } = parse(argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
    if (values.help) {
      process.stdout.write('Usage: hearth system [--json]\n');
      return 0;
    }
    const s = await systemInfo();
    if (values.json) {
      process.stdout.write(JSON.stringify(s) + '\n');
      return 0;
    }
    const limit = s.cgroupLimit === undefined ? 'unknown (no cgroup memory file)' : s.cgroupLimit === null ? 'none' : gib(s.cgroupLimit);
    const lines = [
      `cores          ${s.cores}`,
      `memory         ${gib(s.totalMemory)} total, ${gib(s.freeMemory)} free`,
      `cgroup limit   ${limit}`,
      ...s.gpu.adapters.map((a) => `webgpu         ${a.description} (shader-f16 ${a.shaderF16 ? 'yes' : 'no'}, subgroups ${a.subgroups ? 'yes' : 'no'}, ` +
        `max buffer ${gib(a.limits.maxBufferSize ?? 0)})`),
    ];
    if (s.gpu.unavailable) lines.push(`webgpu         unavailable: ${s.gpu.unavailable}`);
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
