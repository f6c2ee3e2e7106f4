// The findings of one assessment as the rules add them, with where each is.

import type { SyntaxNode } from './parser.ts';
import type { Finding, FindingKind, RiskLevel } from './types.ts';

export interface Where { readonly line: number; readonly column: number; readonly text: string }

export const whereOf = (n: SyntaxNode): Where => ({ line: n.startPosition.row + 1, column: n.startPosition.column + 1, text: n.text });

export class Findings {
  readonly list: Finding[] = [];
  /**
   * Where an embedded program (a shell command inside a Python string) sits in the outer one: its findings are
   * reported at the string's place.
   */
  at: Where | undefined;
  add(rule: string, kind: FindingKind, level: RiskLevel, reason: string, where: SyntaxNode | Where): void {
    const w = this.at ?? ('startPosition' in where ? whereOf(where) : where);
    const snippet = w.text.replace(/\s+/g, ' ').trim().slice(0, 120);
    if (this.list.some((f) => f.rule === rule && f.line === w.line && f.column === w.column && f.reason === reason)) return;
    this.list.push({ rule, kind, level, reason, line: w.line, column: w.column, snippet });
  }
  has(kind: FindingKind, atLeast?: RiskLevel): boolean {
    const order = ['LOW', 'MEDIUM', 'HIGH', 'BLOCKED'];
    return this.list.some((f) => f.kind === kind && (!atLeast || order.indexOf(f.level) >= order.indexOf(atLeast)));
  }
  /** Runs `fn` with findings placed at `where` (for an embedded program). */
  within<T>(where: Where, fn: () => T): T {
    const outer = this.at;
    this.at = outer ?? where;
    try {
      return fn();
    } finally {
      this.at = outer;
    }
  }
}
