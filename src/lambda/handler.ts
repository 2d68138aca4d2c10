// `ferry/lambda`: the AWS Lambda handler of chunk jobs, a thin carrier over executeChunkJob
// (sqs.ts). It takes its settings from the function's environment at its first event:
//   FERRY_PLAN         the plan file inside the deployment package (its hash must be the run's)
//   FERRY_STATE        the queued run's shared state: the coordinator's --shared-state URL (redis://…; with a Redis queue, its --queue URL)
//   FERRY_CONCURRENCY  records of one event carried out at once (default 1)
//   FERRY_LOG_LEVEL    info by default; the log is JSON lines on stderr (CloudWatch)
// The plan's ${env:…} references are resolved from the same environment (deploy/lambda/).
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { FerryError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { SqsChunkCarrier, type SqsCarrierSettings } from './sqs.js';

export { SqsChunkCarrier, type SqsCarrierSettings } from './sqs.js';

/** The carrier's settings from an environment; one line naming what is missing. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): SqsCarrierSettings {
  const need = (name: string, what: string) => {
    const v = env[name];
    if (!v)
      throw new FerryError(
        'PLAN_INVALID',
        `the function's environment has no ${name}`,
        `set it to ${what} (deploy/lambda/README.md)`,
      );
    return v;
  };
  const concurrency = Number(env.FERRY_CONCURRENCY ?? 1);
  if (!Number.isSafeInteger(concurrency) || concurrency < 1)
    throw new FerryError(
      'PLAN_INVALID',
      `the function's FERRY_CONCURRENCY is "${env.FERRY_CONCURRENCY}"`,
      'set it to a whole number of 1 or more, or leave it unset',
    );
  return {
    plan: need('FERRY_PLAN', 'the plan file in the deployment package, e.g. /var/task/ferry.plan.yaml'),
    state: need('FERRY_STATE', "the coordinator's --shared-state URL, redis://host:port/db[?prefix=NAME]"),
    concurrency,
    log: createLogger({ level: env.FERRY_LOG_LEVEL ?? 'info', json: true }),
  };
}

let carrier: SqsChunkCarrier | undefined;

/** The Lambda handler: an SQS event of chunk job messages in, the records that failed out. */
export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  carrier ??= new SqsChunkCarrier(settingsFromEnv(process.env));
  return carrier.handle(event, context);
}

/** Ends the handler's connections (a runtime shutting down; a test); the next event connects again. */
export async function closeHandler(): Promise<void> {
  const c = carrier;
  carrier = undefined;
  await c?.close();
}
