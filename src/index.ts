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
  isLiteFSForwardError,
} from './errors.js';
export type { ErrorCode } from './errors.js';
export type { Logger } from './logger.js';
export { CHANNELS } from './diagnostics.js';
export type { ForwardContext, LifecycleEvent, RoleChangeEvent } from './diagnostics.js';
export type { RpcHandler } from './primary/rpc-handler.js';
export type * from './types.js';
