// A GRIP hold names its channels in the Grip-Channel header, which travels as bytes: a
// channel named in UTF-8 must arrive as its UTF-8 bytes.
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { rawGet, rawRequest } from '../support/resume-helpers.js';
import { acceptingProxy, gripSig, header, ISS, KEY, runRequestCleanups, serve, track } from '../support/origin-requests.js';

afterEach(runRequestCleanups);

describe('a GRIP hold names its channel in UTF-8', () => {
  it.each([
    ['café', 'caf%C3%A9'],
    ['日本', '%E6%97%A5%E6%9C%AC'],
  ])('a GRIP hold on the channel %s names it in UTF-8', async (name, param) => {
    const proxy = await acceptingProxy();
    const es = track({ grip: `${proxy}/?iss=${ISS}&key=${KEY}` });
    const app = express();
    app.get('/e/:ch', es('{ch}'));
    const srv = await serve(app);
    const reply = await rawRequest(srv.port, rawGet(`/e/${param}`, { Connection: 'close', 'Grip-Sig': await gripSig() }), { ms: 5000 });
    expect(reply.status).toBe(200);
    // rawRequest reads the head as latin1: one character per byte.
    expect(header(reply.head, 'Grip-Channel')).toBe(Buffer.from(`events-${name}`, 'utf8').toString('latin1'));
  });
});
