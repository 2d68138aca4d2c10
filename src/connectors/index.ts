// The connector registry: every connector folder's factory, one line each. A factory names its URL
// schemes and loads its connector only when connect() is called (see <folder>/index.ts).
import type { Connector, ConnectorFactory } from '../core/contracts.js';
import { FerryError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { registerUrlSecrets, resolveSecrets, resolveSecretsIn } from '../core/secrets.js';
import { endpointScheme } from '../core/url.js';
import { dynamodbConnector } from './dynamodb/index.js';
import { mysqlConnector } from './mysql/index.js';
import { objectStoreConnector } from './objectstore/index.js';
import { postgresConnector } from './postgres/index.js';
import { sqliteConnector } from './sqlite/index.js';

const factories: ConnectorFactory[] = [
  postgresConnector,
  mysqlConnector,
  sqliteConnector,
  objectStoreConnector,
  dynamodbConnector,
];

const byScheme = new Map(factories.flatMap((f) => f.schemes.map((scheme) => [scheme, f] as const)));

/** Resolves secret references in the URL and the options, and connects with the connector for its scheme. */
export async function connect(
  url: string,
  log: Logger,
  poolSize?: number,
  options?: Record<string, unknown>,
): Promise<Connector> {
  const scheme = endpointScheme(url);
  const factory = byScheme.get(scheme);
  if (!factory)
    throw new FerryError(
      'URL_INVALID',
      `no connector for "${scheme}:" endpoints`,
      `use one of ${[...byScheme.keys()].map((s) => s + ':').join(', ')}`,
    );
  const resolved = resolveSecrets(url);
  registerUrlSecrets(resolved);
  return factory.connect({ url: resolved, log, poolSize, options: options && resolveSecretsIn(options) });
}
