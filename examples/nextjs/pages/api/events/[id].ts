import { eventStream } from '../../../lib/eventStream';

// /api/events/test (listens on 'test' because {id} is replaced by the route parameter)
export default eventStream('{id}');
