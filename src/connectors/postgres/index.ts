import type { ConnectorFactory } from '../../core/contracts.js';
export const postgresConnector: ConnectorFactory = { schemes: [], connect: async () => { throw new Error('not yet'); } };
