// The logger's shape lives in telemetry/ (everything reports into it). This re-export only keeps
// config/ compiling until it takes its option types from below (issue 26, the layers move);
// delete it then.
export type { Logger, IncidentLevel } from '../telemetry/logger.js';
