// An Amazon SQS queue of chunk jobs, as `ferry run PLAN --queue` takes it:
//   sqs://REGION/ACCOUNT/NAME                          (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)
//   https://sqs.REGION.amazonaws.com/ACCOUNT/NAME      (the queue's URL as AWS shows it)
//   http(s)://HOST[:PORT]/ACCOUNT/NAME                 (a VPC endpoint or a local stand-in; region from AWS_REGION)
// An SQS queue holds the jobs only: the run's shared state (the chunk claims and states the
// function writes, the FERRY_STATE of deploy/lambda) is a Redis URL given with --shared-state.
// Credentials come from the AWS SDK's usual chain (environment, profile, role), never the URL.
import { FerryError } from '../../core/errors.js';

export interface SqsAddress {
  /** the QueueUrl of every call */
  queueUrl: string;
  region: string;
  /** the endpoint the client calls, where it is not AWS's own for the region */
  endpoint?: string;
}

/** Whether a --queue URL names an SQS queue (anything else is a Redis queue of `ferry worker`s). */
export function isSqsQueue(url: string): boolean {
  return /^(sqs|https?):\/\//i.test(url);
}

export function sqsAddress(url: string, env: NodeJS.ProcessEnv = process.env): SqsAddress {
  // what the line shows of the URL: never credentials written into it
  const shown = url.replace(/\/\/[^/@]*@/, '//…@');
  const bad = (why: string) =>
    new FerryError(
      'URL_INVALID',
      `the queue ${shown} ${why}`,
      'give it as sqs://REGION/ACCOUNT/NAME or as the queue URL AWS shows (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)',
    );
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad('is not a URL');
  }
  if (u.username || u.password) throw bad('holds credentials (the AWS SDK takes them from the environment or a role)');
  const path = u.pathname.split('/').filter(Boolean);
  if (path.length !== 2 || !/^\d{12}$/.test(path[0]!) || !/^[\w-]{1,80}(\.fifo)?$/.test(path[1]!))
    throw bad('does not end in /ACCOUNT/NAME (a 12-digit account and the queue name)');
  const [account, name] = path as [string, string];
  if (u.protocol === 'sqs:') {
    const region = u.hostname;
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw bad(`names the region "${region}", which is not one`);
    return { queueUrl: `https://sqs.${region}.amazonaws.com/${account}/${name}`, region };
  }
  const aws = /^sqs\.([a-z0-9-]+)\.amazonaws\.com$/.exec(u.hostname);
  if (aws) return { queueUrl: `https://${u.host}/${account}/${name}`, region: aws[1]! };
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw bad('is not on amazonaws.com and AWS_REGION is not set');
  return { queueUrl: `${u.origin}/${account}/${name}`, region, endpoint: u.origin };
}
