// Run by install.test.ts in the clean clone: the CommonJS build, with ioredis installed, keeps
// history in a real Redis. ioredis must come in through the build's lazy require.
'use strict';
const [, , entry, url] = process.argv;
const { EventStream } = require(entry);

(async () => {
  const eventStream = new EventStream({ history: { redis: url } });
  await eventStream.publishEvents('cjs', [
    { event: 'a', data: 1 },
    { event: 'b', data: 2 },
  ]);
  await eventStream.close();
  const ioredisRequired = Object.keys(require.cache).some((file) => /[\\/]node_modules[\\/]ioredis[\\/]/.test(file));
  console.log(JSON.stringify({ published: true, ioredisRequired }));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
