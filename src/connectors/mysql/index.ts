import type { ConnectorFactory } from '../../core/contracts.js';
export const mysqlConnector: ConnectorFactory = { schemes: [], connect: async () => { throw new Error('not yet'); } };
