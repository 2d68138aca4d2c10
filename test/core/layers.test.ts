// The layers of docs/architecture.md, checked on every import of src/: core imports nothing of
// ferry; stores only core; a connector only core, stores and its own folder; the pipeline no
// connector but through the registry; the CLI and the Lambda handler no connector at all.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const SRC = resolve('src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Where an import of `from` may point, as paths relative to src/ (the file's own folder is always allowed). */
function allowed(from: string, to: string): boolean {
  const [layer, folder] = from.split('/');
  const [toLayer, toFolder] = to.split('/');
  if (to === 'connectors/index.ts') return layer === 'pipeline' || layer === 'index.ts';
  // the registry: each connector folder's factory
  if (from === 'connectors/index.ts') return toLayer === 'core' || /^connectors\/[^/]+\/index\.ts$/.test(to);
  switch (layer) {
    case 'core':
      return toLayer === 'core';
    case 'stores':
      return toLayer === 'core' || toLayer === 'stores';
    case 'connectors':
      return toLayer === 'core' || toLayer === 'stores' || (toLayer === 'connectors' && toFolder === folder);
    case 'pipeline':
      return toLayer !== 'cli' && toLayer !== 'connectors';
    case 'cli':
      return toLayer !== 'connectors';
    case 'lambda':
      return toLayer !== 'connectors' && toLayer !== 'cli';
    default:
      return true;
  }
}

test('every import of src/ points down the layers', () => {
  const wrong: string[] = [];
  for (const file of files(SRC)) {
    const from = relative(SRC, file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const to = relative(SRC, resolve(dirname(file), spec!)).replace(/\.js$/, '.ts');
      if (!allowed(from, to)) wrong.push(`${from} imports ${to}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('the check sees a wrong import', () => {
  assert.equal(allowed('core/plan.ts', 'pipeline/plan/assess.ts'), false);
  assert.equal(allowed('stores/s3.ts', 'connectors/objectstore/target.ts'), false);
  assert.equal(allowed('connectors/mysql/source.ts', 'connectors/postgres/sql.ts'), false);
  assert.equal(allowed('connectors/objectstore/target.ts', 'pipeline/copy/run.ts'), false);
  assert.equal(allowed('pipeline/copy/run.ts', 'connectors/postgres/connector.ts'), false);
  assert.equal(allowed('pipeline/plan/assess.ts', 'connectors/index.ts'), true);
  assert.equal(allowed('cli/main.ts', 'connectors/index.ts'), false);
  assert.equal(allowed('lambda/sqs.ts', 'connectors/index.ts'), false);
  assert.equal(allowed('lambda/handler.ts', 'cli/main.ts'), false);
  assert.equal(allowed('connectors/index.ts', 'connectors/mysql/connector.ts'), false);
});
