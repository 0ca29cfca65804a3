/**
 * The reference: @fanoutio/eventstream 2.0.1, the library gripstream replaces, used as
 * its README documents for direct invocation (`run(req, res, channels)`) and publishing
 * (`await publishEvent(channel, { event, data })`). No GRIP: in-process delivery only.
 *
 * Its fixed costs, which it offers no option to turn off: every connection is a
 * Readable → Transform → response pipe with its own 20 s keep-alive timer, and every
 * publish visits every open connection's listener (there is no per-channel index).
 */
import { EventStream } from '@fanoutio/eventstream';
import { serve } from './harness.ts';

const eventStream = new EventStream(null);

serve({
  subscribe: (req, res, channel) => eventStream.run(req, res, [channel]),
  publish: (channel, event) => eventStream.publishEvent(channel, event),
});
