import { eventStream, CHANNEL_NAME } from '../../lib/eventStream';

// /api/events (listens on 'test' because it is the literal string passed in)
export default eventStream(CHANNEL_NAME);
