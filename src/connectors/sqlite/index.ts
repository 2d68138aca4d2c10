import type { ConnectorFactory } from '../../core/contracts.js';
export const sqliteConnector: ConnectorFactory = { schemes: [], connect: async () => { throw new Error('not yet'); } };
