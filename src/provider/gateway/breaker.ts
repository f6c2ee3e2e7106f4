// A circuit breaker per upstream provider: after `failures` consecutive failures it opens and the provider is
// skipped for `cooldownMs`; then one request goes through as a probe (half open): its success closes the breaker,
// its failure opens it for another cool-down.

export type BreakerState = 'closed' | 'open' | 'half_open';

export class Breaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  state: BreakerState = 'closed';
  lastError: string | undefined;
  onChange: ((state: BreakerState) => void) | undefined;

  readonly threshold: number;
  readonly cooldownMs: number;
  private readonly now: () => number;

  constructor(threshold: number, cooldownMs: number, now: () => number = Date.now) {
    this.threshold = threshold;
    this.cooldownMs = cooldownMs;
    this.now = now;
  }

  /** Whether allow() would let a request through now, without taking the half-open probe. */
  ready(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') return this.now() - this.openedAt >= this.cooldownMs;
    return !this.probing;
  }

  /** Whether a request may go to the provider now (a half-open breaker lets one probe through at a time). */
  allow(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open' && this.now() - this.openedAt >= this.cooldownMs) this.set('half_open');
    if (this.state === 'half_open' && !this.probing) {
      this.probing = true;
      return true;
    }
    return false;
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    this.lastError = undefined;
    if (this.state !== 'closed') this.set('closed');
  }

  failure(message: string): void {
    this.lastError = message;
    this.failures++;
    if (this.state === 'half_open' || this.failures >= this.threshold) {
      this.probing = false;
      this.openedAt = this.now();
      if (this.state !== 'open') this.set('open');
    }
  }

  private set(state: BreakerState): void {
    this.state = state;
    this.onChange?.(state);
  }
}
