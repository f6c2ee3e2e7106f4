// Slots and queue over every loaded provider that schedules locally (for /health and /metrics).

import type { SchedulerStats } from '../engine/scheduler.ts';
import type { Provider } from '../provider/types.ts';

export function totalStats(providers: readonly Provider[]): SchedulerStats {
  const total: SchedulerStats = { slots: 0, busy: 0, queued: 0 };
  for (const p of providers) {
    const s = p.stats?.();
    if (!s) continue;
    total.slots += s.slots;
    total.busy += s.busy;
    total.queued += s.queued;
  }
  return total;
}
