// One publish to a real client, with whichever copy of gripstream the caller loaded
// (import or require): an Express route, an EventSource over loopback, one event.
'use strict';
const { once } = require('node:events');

const DEADLINE_MS = 15_000;

async function roundtrip(gripstream, express, EventSource) {
  const timer = setTimeout(() => {
    console.error('roundtrip: no event within the deadline');
    process.exit(2);
  }, DEADLINE_MS);
  const eventStream = new gripstream.EventStream();
  const app = express();
  app.get('/rooms/:id/events', eventStream('room-{id}'));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const source = new EventSource(`http://127.0.0.1:${server.address().port}/rooms/7/events`);
  try {
    await waitFor(source, 'stream-open');
    const received = waitFor(source, 'message');
    await eventStream.publishEvent('room-7', { event: 'message', data: { text: 'hello' } });
    const event = await received;
    return { data: JSON.parse(event.data), id: event.lastEventId };
  } finally {
    clearTimeout(timer);
    source.close();
    await eventStream.close();
    server.close();
  }
}

function waitFor(source, type) {
  return new Promise((resolve, reject) => {
    source.addEventListener(type, resolve, { once: true });
    source.addEventListener('error', (event) => reject(new Error(`EventSource error: ${event.message ?? 'closed'}`)), {
      once: true,
    });
  });
}

module.exports = { roundtrip };
