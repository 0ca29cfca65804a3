// CommonJS: `require` resolves the package's CommonJS build. An `import()` of the same
// package in the same process loads the ESM build; both must share the singletons.
'use strict';
const { EventSource } = require('eventsource');
const express = require('express');
const gripstream = require('gripstream');
const { roundtrip } = require('./roundtrip.cjs');

// `sideEffects: false` is a promise: loading the package leaves the process as it was.
const REGISTRY = Symbol.for('gripstream.singletons');
const touchedGlobalsOnLoad = REGISTRY in globalThis;

(async () => {
  const received = await roundtrip(gripstream, express, EventSource);
  const esm = await import('gripstream');
  const touchedGlobalsOnImport = REGISTRY in globalThis;
  const fromRequire = gripstream.getEventStreamSingleton(null, 'install-check');
  const fromImport = esm.getEventStreamSingleton(null, 'install-check');
  const result = {
    resolved: require.resolve('gripstream'),
    received,
    sideEffectFree: !touchedGlobalsOnLoad && !touchedGlobalsOnImport,
    twoBuilds: esm.EventStream !== gripstream.EventStream,
    sameSingleton: fromRequire === fromImport,
    errorCode: new gripstream.ClosedError().code,
  };
  await fromRequire.close();
  // history.redis without the optional ioredis: a typed refusal from the constructor, which
  // looks for ioredis from the CommonJS build's own location without loading it.
  try {
    await new gripstream.EventStream({ history: { redis: 'redis://127.0.0.1:9' } }).close();
    result.redisRefusal = 'accepted';
  } catch (err) {
    result.redisRefusal = `${err.code}: ${err.message}`;
  }
  console.log(JSON.stringify(result));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
