// The logger option's types are public option types: they live in types.ts, where config/ reads
// them; the public entry has always exported them from here.
export type { IncidentLevel, Logger } from '../types.js';
