import { openDatabase } from 'litefs-forward';
import { createMetrics, type LiteFSForwardMetrics } from 'litefs-forward/metrics';
import * as client from 'prom-client';

const database = await openDatabase({ path: ':memory:', mode: 'local' });
const metrics: LiteFSForwardMetrics = createMetrics(client, database, { registry: new client.Registry() });
metrics.close();
await database.close();
