import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, HearthError, type ErrorCode } from '../util/errors.ts';
import { FieldError } from '../api/validate.ts';
import { STATUS, errorInfo, dialectOf, dialectErrorBody } from './errors.ts';

test('every error code has an HTTP status; caller faults are 4xx', () => {
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    assert.ok(STATUS[code] >= 400 && STATUS[code] < 600, code);
  }
  for (const code of ['invalid_argument', 'unsupported_field', 'context_length_exceeded', 'not_found', 'request_too_large', 'unsupported_media_type'] as const) {
    assert.ok(STATUS[code] < 500, code);
  }
  assert.equal(STATUS.queue_full, 503);
  assert.equal(STATUS.internal, 500);
});

test('fastify errors and unknown throws become HearthErrors', () => {
  assert.deepEqual(errorInfo({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413, message: 'big' }).status, 413);
  assert.equal(errorInfo({ code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }).code, 'unsupported_media_type');
  const internal = errorInfo(new TypeError('x is undefined'));
  assert.deepEqual([internal.status, internal.code], [500, 'internal']);
  assert.equal(errorInfo(new FieldError('temperature', 'bad')).param, 'temperature');
});

test('the dialect of a path picks the error body shape', () => {
  assert.equal(dialectOf('/v1/chat/completions'), 'openai');
  assert.equal(dialectOf('/v1/messages?beta=true'), 'anthropic');
  assert.equal(dialectOf('/api/chat'), 'ollama');
  const info = errorInfo(new HearthError('queue_full', 'busy'));
  assert.deepEqual(dialectErrorBody('/api/generate', info), { error: 'busy' });
  assert.deepEqual(dialectErrorBody('/v1/messages', info), { type: 'error', error: { type: 'overloaded_error', message: 'busy' } });
  assert.deepEqual(dialectErrorBody('/v1/completions', info), { error: { message: 'busy', type: 'server_error', param: null, code: 'queue_full' } });
  // llama-server's native endpoints: {error: {code: <status>, message, type}}
  assert.equal(dialectOf('/completion'), 'llama');
  assert.equal(dialectOf('/slots?fail_on_no_slot=1'), 'llama');
  assert.deepEqual(dialectErrorBody('/completion', info), { error: { code: 503, message: 'busy', type: 'unavailable_error' } });
  assert.deepEqual(dialectErrorBody('/tokenize', errorInfo(new FieldError('content', 'content is required'))),
    { error: { code: 400, message: 'content is required', type: 'invalid_request_error' } });
});
