export { openDatabase, LiteFSDatabase } from './database.js';
export { WriteScope } from './consistency.js';
export { DEFAULTS, MODES } from './config.js';
export type { DriverName, LiteFSForwardOptions, GroupCommitOptions, Mode } from './config.js';
export { SqliteError } from './sqlite/errors.js';
export {
  ERROR_CODES,
  LiteFSForwardError,
  ConfigError,
  PrimaryUnavailableError,
  NotPrimaryError,
  ForwardTimeoutError,
  UnauthorizedError,
  ReadYourWritesTimeoutError,
  MigrationError,
  SchemaNotReadyError,
  isLiteFSForwardError,
} from './errors.js';
export type { ErrorCode } from './errors.js';
export type { Logger } from './logger.js';
export { CHANNELS } from './diagnostics.js';
export type { ForwardContext, LifecycleEvent, RoleChangeEvent } from './diagnostics.js';
export type { RpcHandler } from './primary/rpc-handler.js';
export { MIGRATE_DEFAULTS, migrate, gateSchema, SCHEMA_GATE_MODES, SchemaGate } from './migrate/index.js';
export type { MigrateOptions, MigrateResult, SchemaGateMode, SchemaGateOptions } from './migrate/index.js';
export type * from './types.js';
