export { createLiteFSJs } from './bound.js';
export type { ConsistencyResult, LiteFSJs, LiteFSJsOptions } from './bound.js';
export { getTxSetCookieHeader, TXID_NUM_COOKIE_NAME } from './cookie.js';
export type { TxCookieOptions } from './cookie.js';
export { getInstanceInfo, getInstanceInfoSync, getTxNumber, waitForUpToDateTxNumber } from './files.js';
export type { InstanceInfo, WaitForUpToDateTxNumberOptions } from './files.js';
export { getInternalInstanceDomain, getReplayResponse } from './fly.js';
export { getAllInstances } from './instances.js';
