import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, DEFAULT_POLICY, parsePolicy } from './policy.ts';
import { isHearthError } from '../util/errors.ts';

const P = DEFAULT_POLICY;
const approve = { verdict: 'approve', model: 'm' } as const;
const concerns = { verdict: 'concerns', model: 'm' } as const;
const reject = { verdict: 'reject', model: 'm' } as const;

test('LOW runs; BLOCKED never runs, whoever approves', () => {
  assert.deepEqual(decide(P, { level: 'LOW' }).action, 'run');
  assert.equal(decide(P, { level: 'BLOCKED', review: approve, human: { approved: true, by: 'owner' } }).action, 'deny');
});

test('MEDIUM asks the reviewer; approve runs, reject denies, concerns go to a human', () => {
  assert.equal(decide(P, { level: 'MEDIUM' }).action, 'ask_reviewer');
  assert.deepEqual(decide(P, { level: 'MEDIUM', review: approve }), { action: 'run', by: 'reviewer:m', reason: 'the reviewer approved it' });
  assert.equal(decide(P, { level: 'MEDIUM', review: reject }).action, 'deny');
  assert.equal(decide(P, { level: 'MEDIUM', review: concerns }).action, 'ask_human');
  assert.deepEqual(decide(P, { level: 'MEDIUM', review: concerns, human: { approved: true, by: 'owner' } }), { action: 'run', by: 'human:owner', reason: 'owner approved it' });
});

test('HIGH: the reviewer first, then a human whatever the reviewer said (unless it rejected); a timeout denies', () => {
  assert.equal(decide(P, { level: 'HIGH' }).action, 'ask_reviewer');
  assert.equal(decide(P, { level: 'HIGH', review: approve }).action, 'ask_human');
  assert.equal(decide(P, { level: 'HIGH', review: reject }).action, 'deny');
  assert.equal(decide(P, { level: 'HIGH', review: approve, human: { approved: true, by: 'discord:123' } }).action, 'run');
  assert.deepEqual(decide(P, { level: 'HIGH', review: approve, human: { approved: false, by: 'timeout' } }),
    { action: 'deny', by: 'human:timeout', reason: 'no answer before the timeout' });
});

test('a workspace policy may be stricter, never looser, and BLOCKED stays never', () => {
  assert.deepEqual(parsePolicy({ MEDIUM: 'human' }), { ...P, MEDIUM: 'human' });
  assert.equal(decide(parsePolicy({ LOW: 'reviewer' }), { level: 'LOW' }).action, 'ask_reviewer');
  for (const bad of [{ BLOCKED: 'human' }, { HIGH: 'run' }, { LOW: 'human', MEDIUM: 'reviewer' }, { SEVERE: 'never' }, { LOW: 'yes' }, []]) {
    assert.throws(() => parsePolicy(bad), (e) => isHearthError(e, 'invalid_argument'), JSON.stringify(bad));
  }
  assert.equal(parsePolicy(undefined), P);
});
