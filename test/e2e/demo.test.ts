// The README's first command: the whole lifecycle on the embedded sample.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tmpDir } from '../helpers.js';
import { ferry } from './support.js';

test('ferry demo assesses, plans, runs, verifies and reports', () => {
  const dir = join(tmpDir(), 'demo');
  const r = ferry(['demo', '--dir', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(
    r.stdout,
    /== assess[\s\S]*== plan[\s\S]*== run[\s\S]*== verify[\s\S]*source and target match[\s\S]*== report/,
  );
  const html = /report: (\S+\.html)/.exec(r.stdout)![1]!;
  assert.ok(existsSync(html));
  const page = readFileSync(html, 'utf8');
  assert.match(page, /<h2>Verification<\/h2>/);
  assert.match(page, /order_item/);
  assert.doesNotMatch(page, /<script/);
});

test('a plan ferry writes points YAML editors at the schema it ships, and the schema names itself', () => {
  const dir = join(tmpDir(), 'demo');
  assert.equal(ferry(['demo', '--dir', dir]).code, 0);
  const written = ferry(
    ['plan', '--source', `sqlite:${join(dir, 'shop.db')}`, '--target', 'sqlite:copy.db', '-o', 'again.yaml'],
    { cwd: dir },
  );
  assert.equal(written.code, 0, written.stderr);
  const [first] = readFileSync(join(dir, 'again.yaml'), 'utf8').split('\n');
  const [, schemaFile] =
    /^# yaml-language-server: \$schema=(\/\S+\/schema\/ferry\.plan\.schema\.json)$/.exec(first!) ?? [];
  assert.ok(schemaFile, first);
  const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as { $id: string; $schema: string };
  assert.deepEqual([schema.$schema, schema.$id], ['https://json-schema.org/draft/2020-12/schema', 'urn:ferry:plan:1']);
});
