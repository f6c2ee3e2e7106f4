// The assessor on the labelled set: the confusion matrix (printed), and the one property the policy depends on —
// nothing labelled HIGH or BLOCKED is rated LOW, so nothing that needs a human runs unasked.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assess } from '../../src/assess/assess.ts';
import { RISK_LEVELS, riskRank, type RiskLevel } from '../../src/assess/types.ts';
import { SNIPPETS, type Snippet } from './snippets.ts';
import { HOLDOUT } from './holdout.ts';

test('the labelled set has at least 60 snippets in each of the three languages', () => {
  assert.ok(SNIPPETS.length >= 60, `${SNIPPETS.length}`);
  for (const lang of ['python', 'node', 'bash'] as const) assert.ok(SNIPPETS.filter((s) => s.lang === lang).length >= 20, lang);
  assert.equal(new Set(SNIPPETS.map((s) => s.id)).size, SNIPPETS.length, 'ids are unique');
});

async function confusion(name: string, set: readonly Snippet[]): Promise<{ lines: string[]; dangerousAsLow: string[] }> {
  const matrix = new Map<string, number>();
  const misses: string[] = [];
  const dangerousAsLow: string[] = [];
  for (const s of set) {
    const a = await assess(s.lang, s.code);
    const key = `${s.expected}>${a.level}`;
    matrix.set(key, (matrix.get(key) ?? 0) + 1);
    if (a.level !== s.expected) misses.push(`${s.id}: expected ${s.expected}, rated ${a.level} (${a.findings.slice(0, 2).map((f) => f.rule).join(', ') || 'no findings'})`);
    if (riskRank(s.expected) >= riskRank('HIGH') && a.level === 'LOW') dangerousAsLow.push(s.id);
  }
  const cell = (e: RiskLevel, g: RiskLevel) => String(matrix.get(`${e}>${g}`) ?? 0).padStart(8);
  const lines = [
    `${name}: confusion matrix (${set.length} snippets; rows: label, columns: rated)`,
    `          ${RISK_LEVELS.map((l) => l.padStart(8)).join('')}`,
    ...RISK_LEVELS.map((e) => `${e.padEnd(10)}${RISK_LEVELS.map((g) => cell(e, g)).join('')}`),
    `exact: ${set.length - misses.length}/${set.length}`,
    ...misses.map((m) => `  ${m}`),
  ];
  return { lines, dangerousAsLow };
}

for (const [name, set] of [['labelled set', SNIPPETS], ['held-out set', HOLDOUT]] as const) {
  test(`${name}: confusion matrix; no HIGH or BLOCKED snippet is rated LOW`, async (t) => {
    const { lines, dangerousAsLow } = await confusion(name, set);
    for (const l of lines) t.diagnostic(l);
    process.stdout.write(lines.join('\n') + '\n');
    assert.deepEqual(dangerousAsLow, [], 'HIGH or BLOCKED snippets rated LOW');
  });
}
