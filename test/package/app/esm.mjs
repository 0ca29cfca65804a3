// ESM: `import` resolves the package's ESM build.
import { createRequire } from 'node:module';
import { EventSource } from 'eventsource';
import express from 'express';
import * as gripstream from 'gripstream';

const { roundtrip } = createRequire(import.meta.url)('./roundtrip.cjs');
const received = await roundtrip(gripstream, express, EventSource);
console.log(JSON.stringify({ resolved: import.meta.resolve('gripstream'), received }));
