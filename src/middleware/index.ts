export { expressConsistency } from './node-http.js';
export type { ConnectMiddleware } from './node-http.js';
export { fastifyConsistency } from './fastify.js';
export type { FastifyConsistencyOptions } from './fastify.js';
export { withConsistency, honoConsistency } from './web.js';
export type { WebHandler } from './web.js';
export { ConsistencyGate } from './consistency-gate.js';
export type { ConsistencyDatabases, ConsistencyOptions, RequestScope, RequestedPositions } from './consistency-gate.js';
