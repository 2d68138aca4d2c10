#!/usr/bin/env node
// Regenerates the README's pictures (docs/images/dashboard.png and report.png) from a real run
// of the demo: the dashboard in headless Chromium while a throttled run copies, then the HTML
// report once the run is verified. Needs `npm run build` first and Debian's chromium.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';
import { launchChromium } from '../dist/test/browser.js';

const cli = resolve('dist/src/cli/main.js');
const images = resolve('docs/images');
const dir = join(mkdtempSync(join(tmpdir(), 'ferry-screenshots-')), 'shop');

function ferry(args) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ferry ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

mkdirSync(dir, { recursive: true });
ferry(['demo', '--dir', dir]);
ferry(['rollback', '--force']);
const plan = join(dir, 'ferry.plan.yaml');
const doc = parse(readFileSync(plan, 'utf8'));
// slow enough that the page shows a run in the middle of its copy
doc.settings.throttle = { rowsPerSecond: 600 };
doc.settings.parallelism = 1;
writeFileSync(plan, stringify(doc));

const browser = await launchChromium();
const run = spawn(process.execPath, [cli, 'run', 'ferry.plan.yaml', '--serve', '127.0.0.1:0'], { cwd: dir });
try {
  let stdout = '';
  run.stdout.on('data', (d) => (stdout += d));
  let url;
  while (!(url = /^dashboard: (http:\/\/\S+)/m.exec(stdout)?.[1])) {
    if (run.exitCode !== null) throw new Error(`the run ended before serving: ${stdout}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(url);
  // a picture halfway: some tables done, one copying, the throughput chart drawn
  await page.waitForFunction(
    () => Number(document.querySelector('[data-total="rows"]')?.getAttribute('data-value')) > 3000,
    undefined,
    { timeout: 120_000 },
  );
  mkdirSync(images, { recursive: true });
  await page.screenshot({ path: join(images, 'dashboard.png'), fullPage: true });
  while (!/the run is over/.test(stdout)) {
    if (run.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  run.kill('SIGINT');

  ferry(['verify', 'ferry.plan.yaml']);
  const html = /\S+\.html/.exec(ferry(['report']))[0];
  const report = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  await report.goto(pathToFileURL(resolve(dir, html)).href);
  await report.screenshot({ path: join(images, 'report.png'), fullPage: false });
  console.log(`wrote ${join(images, 'dashboard.png')} and ${join(images, 'report.png')}`);
} finally {
  run.kill('SIGKILL');
  await browser.close();
}
