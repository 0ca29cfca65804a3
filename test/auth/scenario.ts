import { expect, it } from 'vitest';
import type { EventStream } from '../../src/index.js';
import { defer } from '../support/cleanup.js';
import { fetchStream, type SseResponse } from '../support/sse-response.js';
import { WAIT_MS } from '../support/waiter.js';

/**
 * The per-user stream behind login, the same for every framework: who is in which room, and
 * what each app under test must serve.
 *
 * - `GET /me/events`: the logged-in user's channel `user-<name>`, picked by a channel function
 *   reading the framework's own user object; not logged in: 401 with a reason.
 * - `GET /rooms/:room/events`: `room-<room>`; `authorize` (reading the same user object)
 *   refuses a non-member with 403 and a reason.
 * - `POST /rooms/:room/messages` (JSON `{ "text": ... }`): publishes `message` with
 *   `{ from, text }` to the room, for members only (403 otherwise, nothing published).
 */
export const MEMBERS: Readonly<Record<string, readonly string[]>> = { alice: ['1'], bob: ['2'] };

/** The room check every app's `authorize` makes: a user's own channel, or a room they are in. */
export function mayListen(user: string | undefined, channels: readonly string[]): boolean | { status: 401 | 403; reason: string } {
  if (user === undefined) return { status: 401, reason: 'log in to listen' };
  for (const channel of channels) {
    if (channel === `user-${user}`) continue;
    const room = channel.startsWith('room-') ? channel.slice('room-'.length) : undefined;
    if (room === undefined || !(MEMBERS[user] ?? []).includes(room)) return { status: 403, reason: `${user} is not a member of ${channel}` };
  }
  return true;
}

export interface AuthApp {
  base: string;
  eventStream: EventStream;
  /** Headers that authenticate `user`: a session cookie after logging in, or a bearer token. */
  credentials(user: string): Promise<Record<string, string>>;
}

/** Opens an event stream with `headers`; the answer's head is awaited, bounded. */
export async function openStream(url: string, headers: Record<string, string>): Promise<SseResponse> {
  const client = await fetchStream(url, headers);
  defer(() => client.close());
  return client;
}

/** A refused request's status, body and challenge. */
export async function refusedWith(url: string, headers: Record<string, string> = {}): Promise<[number, string]> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: AbortSignal.timeout(WAIT_MS) });
  return [res.status, await res.text()];
}

async function post(url: string, headers: Record<string, string>, body: unknown): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(WAIT_MS),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Registers the scenario's tests for an app started by `start` (each test starts its own). */
export function perUserStreamTests(start: () => Promise<AuthApp>, unauthenticated: { status: number; body: RegExp }): void {
  it("a logged-in user's stream gets their own events, never another user's", async () => {
    const app = await start();
    const alice = await openStream(`${app.base}/me/events`, await app.credentials('alice'));
    const bob = await openStream(`${app.base}/me/events`, await app.credentials('bob'));
    expect([alice.response.status, bob.response.status]).toEqual([200, 200]);
    await app.eventStream.publishEvent('user-bob', { event: 'note', data: 'for bob' });
    await app.eventStream.publishEvent('user-alice', { event: 'note', data: 'for alice' });
    expect((await alice.next((e) => e.event === 'note', 'alice note')).data).toBe('"for alice"');
    expect((await bob.next((e) => e.event === 'note', 'bob note')).data).toBe('"for bob"');
    // Events of one channel arrive in order: alice's first note is hers, so bob's never came.
    expect(alice.events.filter((e) => e.event === 'note').map((e) => e.data)).toEqual(['"for alice"']);
  });

  it('without a login the stream is refused with a reason, and nothing is subscribed', async () => {
    const app = await start();
    const [status, body] = await refusedWith(`${app.base}/me/events`);
    expect(status).toBe(unauthenticated.status);
    expect(body).toMatch(unauthenticated.body);
    expect(app.eventStream.stats().connections).toBe(0);
  });

  it("a room the user is not in: 403 whose reason names that room only; their own room streams", async () => {
    const app = await start();
    const creds = await app.credentials('alice');
    expect(await refusedWith(`${app.base}/rooms/2/events`, creds)).toEqual([403, 'alice is not a member of room-2\n']);
    const room = await openStream(`${app.base}/rooms/1/events`, creds);
    expect(room.response.status).toBe(200);
    expect(app.eventStream.stats().channels).toEqual({ 'room-1': 1 });
  });

  it("publishing: a member's POST reaches the room's listeners; a non-member's is 403 and publishes nothing", async () => {
    const app = await start();
    const alice = await app.credentials('alice');
    const bob = await app.credentials('bob');
    const listener = await openStream(`${app.base}/rooms/1/events`, alice);
    expect(await post(`${app.base}/rooms/1/messages`, bob, { text: 'let me in' })).toBe(403);
    expect(await post(`${app.base}/rooms/1/messages`, alice, { text: 'hello room' })).toBe(202);
    const message = await listener.next((e) => e.event === 'message', 'the room message');
    expect(JSON.parse(message.data)).toEqual({ from: 'alice', text: 'hello room' });
    expect(listener.events.filter((e) => e.event === 'message')).toHaveLength(1);
    expect(app.eventStream.stats().eventsPublished).toBe(1);
  });
}
