// The Lambda deployment template (deploy/lambda/template.yaml) read as CloudFormation reads it:
// its IAM policy grants no action or resource by wildcard, the function runs the handler the
// package exports as ferry/lambda and reports partial batch failures, the queue hands a message
// that keeps failing to its dead-letter queue, and the secrets are references, never values.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** CloudFormation's short forms (!Ref, !Sub, …) as their long forms ({ Ref: … }, { 'Fn::Sub': … }). */
const INTRINSICS = ['Ref', 'Sub', 'GetAtt', 'If', 'Not', 'Equals', 'Join', 'Select', 'Split'];
const longName = (name: string) => (name === 'Ref' ? 'Ref' : `Fn::${name}`);
const tags = INTRINSICS.flatMap((name): (ScalarTag | CollectionTag)[] => [
  { tag: `!${name}`, resolve: (v: string) => ({ [longName(name)]: name === 'GetAtt' ? v.split('.') : v }) },
  {
    tag: `!${name}`,
    collection: 'seq',
    resolve: (v: YAMLMap.Parsed | YAMLSeq.Parsed) => ({ [longName(name)]: v.toJSON() }),
  },
]);

type Json = Record<string, unknown>;
const template = parse(readFileSync(`${ROOT}deploy/lambda/template.yaml`, 'utf8'), { customTags: tags }) as {
  Resources: Record<string, { Type: string; Properties: Json }>;
  Parameters: Record<string, Json>;
};
const resources = template.Resources;
const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);

/** Every statement of every inline policy, with an `Fn::If`'s branches taken both ways. */
function statements(): Json[] {
  const out: Json[] = [];
  for (const role of ofType('AWS::IAM::Role'))
    for (const p of role.Properties.Policies as { PolicyDocument: { Statement: unknown[] } }[])
      for (const s of p.PolicyDocument.Statement) {
        const branches = (s as Json)['Fn::If'] as unknown[] | undefined;
        for (const b of branches ? branches.slice(1) : [s])
          if (b && typeof b === 'object' && !('Ref' in b)) out.push(b as Json);
      }
  return out;
}

describe('the Lambda deployment template', () => {
  test('least privilege: no wildcard action or resource, the queue actions on the chunk queue only', () => {
    const all = statements();
    assert.ok(all.length >= 3, `${all.length} statements`);
    for (const s of all) {
      const actions = ([] as unknown[]).concat(s.Action);
      for (const a of actions) assert.ok(typeof a === 'string' && !a.includes('*'), `action ${String(a)}`);
      const res = ([] as unknown[]).concat(s.Resource);
      // the one exception: an action IAM has no resource type for, granted on "*" or not at all
      if (!(actions.length === 1 && actions[0] === 'dynamodb:ListTables'))
        for (const r of res) assert.notEqual(r, '*', `statement ${String(s.Sid)} on every resource`);
      assert.equal(s.Effect, 'Allow');
    }
    const sqs = all.find((s) => ([] as string[]).concat(s.Action as string).some((a) => a.startsWith('sqs:')))!;
    assert.deepEqual(sqs.Resource, { 'Fn::GetAtt': ['ChunkQueue', 'Arn'] });
    assert.ok(!(sqs.Action as string[]).includes('sqs:SendMessage'), 'the function takes chunk jobs and sends none');
  });

  test('the function runs the exported handler, Node 20, reports partial batch failures, is its own rate limit', () => {
    const [fn] = ofType('AWS::Serverless::Function');
    const p = fn!.Properties;
    assert.equal(p.Runtime, 'nodejs20.x');
    const [file, exported] = [String(p.Handler).replace(/\.[^.]+$/, ''), String(p.Handler).split('.').at(-1)];
    assert.equal(exported, 'handler');
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { exports: Record<string, string> };
    assert.equal(pkg.exports['./lambda'], `./${file}.js`);
    assert.ok(existsSync(`${ROOT}${file}.js`), `${file}.js is built`);
    assert.deepEqual(p.ReservedConcurrentExecutions, { Ref: 'MaxWorkers' });
    const events = Object.values(p.Events as Record<string, { Type: string; Properties: Json }>);
    assert.deepEqual(
      events.map((e) => [e.Type, e.Properties.FunctionResponseTypes]),
      [['SQS', ['ReportBatchItemFailures']]],
    );
    const env = (p.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.deepEqual(
      Object.keys(env)
        .filter((k) => k.startsWith('FERRY_') && !k.endsWith('_PASSWORD'))
        .sort(),
      ['FERRY_LOG_LEVEL', 'FERRY_PLAN', 'FERRY_STATE'],
    );
    // the passwords: Secrets Manager references, resolved by CloudFormation; no value in the template
    for (const k of ['FERRY_SOURCE_PASSWORD', 'FERRY_TARGET_PASSWORD', 'FERRY_STATE_PASSWORD']) {
      const text = JSON.stringify(env[k]);
      assert.match(text, /\{\{resolve:secretsmanager:\$\{\w+SecretId\}:SecretString:password\}\}/, k);
    }
  });

  test("a DynamoDB target: the chunk path's calls on the plan's tables only, and nothing without tables", () => {
    const all = statements();
    const dynamo = all.filter((s) =>
      ([] as string[]).concat(s.Action as string).some((a) => a.startsWith('dynamodb:')),
    );
    const tables = dynamo.find((s) => s.Sid === 'WriteTargetTables')!;
    assert.deepEqual(tables.Resource, { Ref: 'TargetTableArns' });
    assert.deepEqual((tables.Action as string[]).slice().sort(), [
      'dynamodb:BatchGetItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:DeleteItem',
      'dynamodb:DescribeTable',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Scan',
    ]);
    for (const a of tables.Action as string[])
      assert.ok(!/Create|DeleteTable|UpdateTable|Tag|Backup|Stream/.test(a), `${a}: more than copying needs`);
    assert.deepEqual(
      dynamo.map((s) => s.Sid),
      ['WriteTargetTables', 'ReachDynamoDb'],
    );
    // both only when the stack names tables
    const role = ofType('AWS::IAM::Role')[0]!.Properties.Policies as { PolicyDocument: { Statement: Json[] } }[];
    const guarded = role[0]!.PolicyDocument.Statement.filter((s) => 'Fn::If' in s).map(
      (s) => [(s['Fn::If'] as unknown[])[0], ((s['Fn::If'] as unknown[])[1] as Json).Sid] as const,
    );
    assert.deepEqual(
      guarded.filter(([, sid]) => String(sid).includes('Table') || String(sid).includes('Dynamo')),
      [
        ['HasTables', 'WriteTargetTables'],
        ['HasTables', 'ReachDynamoDb'],
      ],
    );
  });

  test("Redis's password by reference: StateUrl names ${env:FERRY_STATE_PASSWORD}, the secret fills it", () => {
    assert.match(String(template.Parameters.StateUrl!.Description), /\$\{env:FERRY_STATE_PASSWORD\}/);
    assert.equal(template.Parameters.StateSecretId!.Default, '');
    assert.ok(!JSON.stringify(template).match(/redis:\/\/[^$"]*:[^$"]+@/), 'no literal Redis password');
  });

  test('a message that keeps failing goes to the dead-letter queue; the queue outlasts the function', () => {
    const queue = resources.ChunkQueue!.Properties;
    assert.deepEqual((queue.RedrivePolicy as Json).deadLetterTargetArn, { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] });
    const longest = template.Parameters.TimeoutSeconds!.MaxValue as number;
    assert.ok((queue.VisibilityTimeout as number) >= 6 * longest, 'visibility at least six times the timeout');
  });
});
