import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { EventStream } from '../../src/index.js';
import { pushpinAvailable, startPushpin } from '../../test/support/pushpin.js';
import { createApp } from './app.js';
import { closeOnSignals } from '../shutdown.js';
import { listenOrExit } from '../listen.js';

// The Express example behind a private Pushpin: browsers connect to Pushpin (PUSHPIN_PORT,
// default 7999), Pushpin holds the streams and asks the app (PORT, default 3000) which
// channels each one wants; the app publishes to Pushpin's control port (5561).
// Secure by default: Pushpin signs every request it forwards (Grip-Sig) with a key made for
// this run (or PUSHPIN_SIG_KEY), and the app verifies it, so a request that reaches the app
// directly with a forged Grip-Sig gets 403 instead of a hold.
if (!pushpinAvailable()) {
  console.error('pushpin is not installed: apt-get install -y pushpin');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 3000);
const pushpinPort = Number(process.env.PUSHPIN_PORT ?? 7999);
const publishPort = Number(process.env.PUSHPIN_PUBLISH_PORT ?? 5561);

const sigKey = process.env.PUSHPIN_SIG_KEY ?? randomBytes(32).toString('base64url');

const eventStream = new EventStream({ grip: `http://127.0.0.1:${publishPort}/?iss=pushpin&key=${encodeURIComponent(sigKey)}` });
const server = http.createServer(createApp(eventStream));
await listenOrExit(server, port, '127.0.0.1');
const pushpin = await startPushpin({ originPort: port, httpPort: pushpinPort, publishPort, sigKey, sigIss: 'pushpin' });
await pushpin.waitForOrigin('/api/stats');
console.log(`open http://127.0.0.1:${pushpinPort}/ (through Pushpin; the app itself is on ${port})`);

// Pushpin holds the streams, so a drain here has no stream of its own to end: holds are still
// answered and publishes go on until the window is over, then everything closes.
closeOnSignals(eventStream, async () => {
  await pushpin.stop();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
