import { getEventStreamSingleton } from 'gripstream';

// Exactly the reference's pattern. The singleton lives on globalThis, so the pages-router
// and app-router bundles (separate module copies) and dev-server reloads all share it.
export const CHANNEL_NAME = 'test';
export const eventStream = getEventStreamSingleton();

// Deploys: `next start` ends the process on SIGTERM itself, dropping every stream at once.
// With NEXT_MANUAL_SIG_HANDLE=true it leaves the signal to the app: drain over DRAIN_MS
// (default 10 s; new streams get 503, open ones resume elsewhere in waves), then exit.
// Registered once per process, however many bundles load this module.
const wired = Symbol.for('gripstream.example.sigterm');
const registry = globalThis as { [wired]?: true };
if (process.env.NEXT_MANUAL_SIG_HANDLE === 'true' && registry[wired] === undefined) {
  registry[wired] = true;
  process.once('SIGTERM', () => {
    void eventStream.close({ drain: Number(process.env.DRAIN_MS ?? 10_000) }).then(() => process.exit(0));
  });
}
