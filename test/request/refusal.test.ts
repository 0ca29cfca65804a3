import { describe, expect, it } from 'vitest';
import { MAX_REASON_LENGTH, refusalHeaders, refusalOf } from '../../src/request/refusal.js';
import { InvalidConfigError, StreamRefusedError } from '../../src/errors.js';

// What `authorize` may answer, turned into a refusal (or none), without any server.

describe('refusalOf', () => {
  it('true lets the stream open; false is 403 with the default reason', () => {
    expect(refusalOf(true)).toBeUndefined();
    expect(refusalOf(false)).toEqual({ status: 403, reason: 'not authorized for these channels' });
  });

  it('keeps a refusal with its status and reason', () => {
    expect(refusalOf({ status: 401, reason: 'session expired, log in again' })).toEqual({
      status: 401,
      reason: 'session expired, log in again',
    });
    expect(refusalOf({ status: 403, reason: 'not a member of this room' })).toEqual({ status: 403, reason: 'not a member of this room' });
  });

  it('puts a reason on one line and cuts it to MAX_REASON_LENGTH characters', () => {
    expect(refusalOf({ status: 403, reason: 'line one\r\nline two\u0000' })?.reason).toBe('line one line two');
    const long = refusalOf({ status: 403, reason: 'x'.repeat(5000) })!.reason;
    expect(long).toHaveLength(MAX_REASON_LENGTH);
    expect(long.endsWith('…')).toBe(true);
  });

  it('gives an empty reason the status default', () => {
    expect(refusalOf({ status: 401, reason: '  ' })?.reason).toBe('authentication required');
  });

  it.each([undefined, null, 0, 1, 'yes', { status: 500, reason: 'x' }, { status: 401 }, { status: '403', reason: 'x' }])(
    'refuses to read %j as an answer: InvalidConfigError, never a yes',
    (answer) => {
      expect(() => refusalOf(answer)).toThrow(InvalidConfigError);
      expect(() => refusalOf(answer)).toThrow(/must return true, false, or \{ status: 401 \| 403, reason: string \}/);
    },
  );
});

describe('refusalHeaders', () => {
  it('a 401 carries a challenge (Bearer unless the refusal names one); a 403 none', () => {
    expect(refusalHeaders({ status: 401, reason: 'x' })).toEqual({ 'WWW-Authenticate': 'Bearer' });
    const named = refusalOf({ status: 401, reason: 'x', wwwAuthenticate: 'Bearer error="invalid_token"\r\n' })!;
    expect(refusalHeaders(named)).toEqual({ 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    expect(refusalHeaders({ status: 403, reason: 'x' })).toBeUndefined();
  });
});

describe('StreamRefusedError', () => {
  it('carries status, reason and code', () => {
    const err = new StreamRefusedError(401, 'log in again', { wwwAuthenticate: 'Bearer realm="chat"' });
    expect(err).toMatchObject({ code: 'ERR_STREAM_REFUSED', status: 401, reason: 'log in again', wwwAuthenticate: 'Bearer realm="chat"' });
  });

  it('takes only 401 or 403', () => {
    expect(() => new StreamRefusedError(500 as 401, 'x')).toThrow(InvalidConfigError);
  });
});
