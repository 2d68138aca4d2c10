// The connector registry: one line per connector; each is loaded only when its scheme is used.
import type { Connector, ConnectorFactory } from '../core/contracts.js';
import { FerryError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { registerUrlSecrets, resolveSecrets } from '../core/secrets.js';
import { endpointScheme } from '../core/url.js';

const registry: Record<string, () => Promise<ConnectorFactory>> = {
  postgres: async () => (await import('./postgres/connector.js')).postgresConnector,
  postgresql: async () => (await import('./postgres/connector.js')).postgresConnector,
  mysql: async () => (await import('./mysql/connector.js')).mysqlConnector,
  mariadb: async () => (await import('./mysql/connector.js')).mysqlConnector,
  sqlite: async () => (await import('./sqlite/connector.js')).sqliteConnector,
  dynamodb: async () => (await import('./dynamodb/connector.js')).dynamodbConnector,
  s3: async () => (await import('./objectstore/connector.js')).objectStoreConnector,
  file: async () => (await import('./objectstore/connector.js')).objectStoreConnector,
};

export function knownSchemes(): string[] {
  return Object.keys(registry);
}

/** Resolves secret references in the URL and connects with the connector for its scheme. */
export async function connect(
  url: string,
  log: Logger,
  poolSize?: number,
  options?: Record<string, unknown>,
): Promise<Connector> {
  const scheme = endpointScheme(url);
  const load = registry[scheme];
  if (!load)
    throw new FerryError(
      'URL_INVALID',
      `no connector for "${scheme}:" endpoints`,
      `use one of ${knownSchemes()
        .map((s) => s + ':')
        .join(', ')}`,
    );
  const resolved = resolveSecrets(url);
  registerUrlSecrets(resolved);
  const factory = await load();
  return factory.connect({ url: resolved, log, poolSize, options });
}
