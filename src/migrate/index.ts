export { MIGRATE_DEFAULTS, migrate } from './migrate.js';
export type { MigrateOptions, MigrateResult } from './migrate.js';
export { gateSchema, SCHEMA_GATE_MODES, SchemaGate } from './schema-gate.js';
export type { SchemaGateMode, SchemaGateOptions } from './schema-gate.js';
