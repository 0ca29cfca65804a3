// The incident reporter lives in telemetry/ (everything reports into it). This re-export only
// keeps config/ compiling until it takes its option types from below (issue 26, the layers move);
// delete it then.
export type { IncidentHook, IncidentOptions } from '../telemetry/incidents.js';
