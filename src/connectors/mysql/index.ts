// The MySQL/MariaDB connector's factory: the URL schemes it answers. The connector (connector.ts and mysql2) is
// loaded only when an endpoint is opened, so that the registry lists every factory for free.
import type { ConnectorFactory } from '../../core/contracts.js';

export const mysqlConnector: ConnectorFactory = {
  schemes: ['mysql', 'mariadb'],
  connect: async (opts) => (await import('./connector.js')).connect(opts),
};
