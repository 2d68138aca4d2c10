// Arguments: Commander's usage errors (one line, then the pointer to --help) and the checks of
// option values; every one before anything is read or written.
import { f, type Row, usage } from './table.js';

export const ARGUMENTS: Row[] = [
  { does: 'no command', args: () => [], code: 2, usage, stderr: /^error: missing command: one of assess, plan, run/ },
  {
    does: 'an unknown command',
    args: () => ['frobnicate'],
    code: 2,
    usage,
    stderr: /^error: unknown command 'frobnicate'$/,
  },
  {
    does: 'a misspelt command',
    args: () => ['rnu', 'plan.yaml'],
    code: 2,
    usage,
    stderr: /^error: unknown command 'rnu' \(did you mean run\?\)$/,
  },
  {
    does: 'help for an unknown command',
    args: () => ['help', 'frobnicate'],
    code: 2,
    usage,
    stderr: /^error: unknown command 'frobnicate'$/,
  },
  {
    does: 'an unknown global option',
    args: () => ['--bogus'],
    code: 2,
    usage,
    stderr: /^error: unknown option '--bogus'$/,
  },
  {
    does: 'a command without its plan',
    args: () => ['run'],
    code: 2,
    usage,
    stderr: /^error: missing required argument 'plan'$/,
  },
  {
    does: 'two plans at once',
    args: () => ['run', 'a.yaml', 'b.yaml'],
    code: 2,
    usage,
    stderr: /^error: too many arguments for 'run'\. Expected 1 argument but got 2\.$/,
  },
  {
    does: 'an unknown option of a command',
    args: () => ['run', 'p.yaml', '--fast'],
    code: 2,
    usage,
    stderr: /^error: unknown option '--fast'( \(did you mean --[a-z-]+\?\))?$/,
  },
  {
    does: 'an option without its value',
    args: () => ['run', 'p.yaml', '--state-dir'],
    code: 2,
    usage,
    stderr: /^error: option '--state-dir <dir>' argument missing$/,
  },
  {
    does: 'assess without a source',
    args: () => ['assess'],
    code: 2,
    usage,
    stderr: /^error: required option '--source <url>' not specified$/,
  },
  {
    does: 'plan without a target',
    args: () => ['plan', '--source', 'sqlite:x.db'],
    code: 2,
    usage,
    stderr: /^error: required option '--target <url>' not specified$/,
  },
  ...(
    [
      [['plan', '--parallelism', 'banana'], '--parallelism <n>', 'banana', 'a whole number, at least 1'],
      [['plan', '--parallelism', '0'], '--parallelism <n>', '0', 'a whole number, at least 1'],
      [['plan', '--parallelism', '1e3'], '--parallelism <n>', '1e3', 'a whole number, at least 1'],
      [['plan', '--rows-per-chunk', '-5'], '--rows-per-chunk <n>', '-5', 'a whole number, at least 1'],
      [['plan', '--rows-per-chunk', '2.5'], '--rows-per-chunk <n>', '2.5', 'a whole number, at least 1'],
      [['test', 'p.yaml', '--sample', '-3'], '--sample <n>', '-3', 'a whole number, at least 1'],
      [['test', 'p.yaml', '--sample', '0'], '--sample <n>', '0', 'a whole number, at least 1'],
      [['test', 'p.yaml', '--percent', '0'], '--percent <p>', '0', 'a percentage, more than 0 and at most 100'],
      [['test', 'p.yaml', '--percent', '101'], '--percent <p>', '101', 'a percentage, more than 0 and at most 100'],
      [['test', 'p.yaml', '--percent', 'lots'], '--percent <p>', 'lots', 'a percentage, more than 0 and at most 100'],
      [['verify', 'p.yaml', '--sample', 'x'], '--sample <n>', 'x', 'a whole number, at least 0'],
    ] as const
  ).map(([args, option, value, expected]): Row => ({
    does: `${args[0]} ${args.slice(-2).join(' ')}`,
    args: () =>
      args[0] === 'plan' ? ['plan', '--source', 'sqlite:x.db', '--target', 'sqlite:y.db', ...args.slice(1)] : [...args],
    code: 2,
    usage,
    stderr: new RegExp(
      `^error: option '${option}' argument '${value.replace(/[.+]/g, '\\$&')}' is invalid\\. expected ${expected}$`,
    ),
  })),
  {
    does: 'an --if-exists that is not one of its choices',
    args: () => ['plan', '--source', 'sqlite:x.db', '--target', 'sqlite:y.db', '--if-exists', 'sometimes'],
    code: 2,
    usage,
    stderr:
      /^error: option '--if-exists <what>' argument 'sometimes' is invalid\. Allowed choices are fail, drop, truncate\.$/,
  },
  {
    does: 'a log level that does not exist',
    args: () => ['--log-level', 'loud', 'run', 'p.yaml'],
    code: 2,
    usage,
    stderr:
      /^error: option '--log-level <level>' argument 'loud' is invalid\. Allowed choices are debug, info, warn, error\.$/,
  },
  {
    does: 'a log level from the environment that does not exist',
    args: () => ['run', 'p.yaml'],
    env: () => ({ FERRY_LOG_LEVEL: 'loud' }),
    code: 2,
    usage,
    stderr:
      /^error: option '--log-level <level>' value 'loud' from env 'FERRY_LOG_LEVEL' is invalid\. Allowed choices are debug, info, warn, error\.$/,
  },
  {
    does: 'restore with a side that does not exist',
    args: () => ['restore', 'somewhere', '--target', 'sqlite:r.db', '--side', 'both'],
    code: 2,
    usage,
    stderr: /^error: option '--side <side>' argument 'both' is invalid\. Allowed choices are source, target\.$/,
  },
  {
    does: 'restore without a target',
    args: () => ['restore', 'somewhere'],
    code: 2,
    usage,
    stderr: /^error: required option '--target <url>' not specified$/,
  },
  {
    does: 'audit without its subcommand',
    args: () => ['audit'],
    code: 2,
    usage,
    stderr: /^error: missing command: one of verify$/,
  },
  {
    does: 'backup verify without a location',
    args: () => ['backup', 'verify'],
    code: 2,
    usage,
    stderr: /^error: missing required argument 'location'$/,
  },
  {
    does: 'report of two runs',
    args: () => ['report', 'a', 'b'],
    code: 2,
    usage,
    stderr: /^error: too many arguments for 'report'\. Expected 1 argument but got 2\.$/,
  },
  {
    does: 'schema with an argument',
    args: () => ['schema', 'plan.yaml'],
    code: 2,
    usage,
    stderr: /^error: too many arguments for 'schema'\. Expected 0 arguments but got 1\.$/,
  },
  {
    does: 'test with both --sample and --percent',
    args: () => ['test', 'plan.yaml', '--sample', '10', '--percent', '5'],
    files: () => ({ 'plan.yaml': f.plan }),
    code: 2,
    stderr: /^ferry: give --sample or --percent, not both: choose one$/,
  },
  {
    does: 'backup without a plan',
    args: () => ['backup'],
    code: 2,
    stderr: /^ferry: no plan given: ferry backup PLAN, or ferry backup verify LOCATION$/,
  },
  {
    does: 'a design the target does not offer',
    args: () => ['plan', '--source', f.pgSrc, '--target', 'sqlite:t.db', '--design', 'single-table', '-o', 'p.yaml'],
    code: 2,
    stderr: /^ferry: sqlite targets have no design "single-table": leave out --design$/,
  },
  {
    does: 'a rate limit of chunk jobs without a queue',
    args: () => ['run', 'p.yaml', '--chunks-per-second', '2'],
    code: 2,
    stderr: /^ferry: --chunks-per-second limits a queued run: add --queue URL, or leave it out$/,
  },
  {
    does: 'a shared state without a queue',
    args: () => ['run', 'p.yaml', '--shared-state', 'redis://127.0.0.1:6379/0'],
    code: 2,
    stderr:
      /^ferry: --shared-state is an SQS queue's: add --queue sqs:\/\/REGION\/ACCOUNT\/NAME, or leave --shared-state out$/,
  },
  {
    does: 'a run on an SQS queue without the shared state its function records chunks in',
    args: () => ['run', 'p.yaml', '--queue', 'sqs://eu-west-1/123456789012/chunks'],
    code: 2,
    stderr:
      /^ferry: the SQS queue sqs:\/\/eu-west-1\/123456789012\/chunks holds chunk jobs only, and the run's shared state needs a Redis: add --shared-state redis:/,
  },
  {
    does: 'an SQS queue URL with credentials in it: refused, and the line does not repeat them',
    args: () => [
      'run',
      'p.yaml',
      '--queue',
      'https://AKIAEXAMPLE:canary-sqs-secret@sqs.eu-west-1.amazonaws.com/123456789012/chunks',
      '--shared-state',
      'redis://127.0.0.1:6379/0',
    ],
    code: 2,
    stderr:
      /^ferry: the queue https:\/\/…@sqs\.eu-west-1\.amazonaws\.com\/123456789012\/chunks holds credentials \(the AWS SDK takes them from the environment or a role\): give it as sqs:/,
  },
  {
    does: 'a report from a queued run without the plan',
    args: () => ['report', '--queue', 'redis://127.0.0.1:6379/0'],
    code: 2,
    stderr: /^ferry: ferry report --queue needs the plan file: ferry report PLAN --queue URL$/,
  },
  {
    does: 'a worker on a queue that is not a redis:// URL',
    args: () => ['worker', '--queue', 'http://127.0.0.1:6379/0'],
    code: 2,
    stderr:
      /^ferry: the queue http:\/\/127\.0\.0\.1:6379\/0 is not a redis:\/\/ URL: give it as redis:\/\/host:port\/db/,
  },
  {
    does: 'a worker on a queue whose URL holds a literal password',
    args: () => ['worker', '--queue', 'redis://:hunter2secret@127.0.0.1:6379/0'],
    code: 2,
    stderr: /^ferry: the queue redis:\/\/:\*\*\*@127\.0\.0\.1:6379\/0 holds a literal password: /,
    never: () => 'hunter2secret',
  },
];
