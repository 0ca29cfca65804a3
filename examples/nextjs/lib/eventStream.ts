import { getEventStreamSingleton } from 'gripstream';

// Exactly the reference's pattern. The singleton lives on globalThis, so the pages-router
// and app-router bundles (separate module copies) and dev-server reloads all share it.
export const CHANNEL_NAME = 'test';
export const eventStream = getEventStreamSingleton();
