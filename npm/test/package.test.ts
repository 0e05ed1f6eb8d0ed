// The artifact users install: `npm pack` of npm/, installed with `npm i` and `bun add` into fresh
// projects, runs the quick start's scripts (test/quickstart/*.ts, copied verbatim from
// docs/quickstart.txt) under Bun and under Node (tsx) and prints the quick start's text.
// Run by Node only (`node --import tsx --test`); it drives both runtimes itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(__dirname, '../..');
const NPM = join(ROOT, 'npm');
const QS = join(__dirname, 'quickstart');
const BUN = join(ROOT, 'node_modules/.bin/bun');
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
// The quick start's source lives in ../shared (beside the checkout on our machines and in CI). The
// verbatim check needs it; everything else compares against the in-repo *.expected.txt files, so
// the suite still runs (minus that one check) where ../shared is absent.
const QUICKSTART = readFileSync(join(ROOT, 'docs/quickstart.txt'), 'utf-8');
const SCRIPTS = readdirSync(QS).filter((f) => f.endsWith('.ts')).sort();

let work: string;
let tarball: string;

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf-8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A fresh project as `bun init -y` makes it (ES modules), with the quick start's policy.json. */
function project(name: string): string {
  const dir = join(work, name);
  run('mkdir', ['-p', dir], work);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }, null, 2));
  copyFileSync(join(ROOT, 'tests/policies/quickstart.json'), join(dir, 'policy.json'));
  for (const s of SCRIPTS) copyFileSync(join(QS, s), join(dir, s));
  return dir;
}

/** Lines as the web page shows them: trimmed, blank lines dropped, runs of spaces collapsed. */
function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => l !== '');
}

/**
 * `console.log(meters)` differs between runtimes in quoting and commas; compare the fields shown.
 * The quick start text was printed by an engine older than 0.6.15, before meters
 * carried `overhead`, `history` and `ewma_rate`: those fields are left out of the comparison.
 */
function meterLines(text: string): string[] {
  const out: string[] = [];
  let inHistory = false;
  for (const raw of lines(text)) {
    const l = raw.replace(/'/g, '"').replace(/,$/, '').replace(/^started: \d{13}$/, 'started: <ms>');
    if (inHistory) {
      if (l === ']') inHistory = false;
      continue;
    }
    if (l.startsWith('history:')) {
      inHistory = !l.endsWith(']');
      continue;
    }
    if (l.startsWith('overhead:') || l.startsWith('ewma_rate:')) continue;
    out.push(l);
  }
  return out;
}

function expected(script: string): string {
  return readFileSync(join(QS, script.replace(/\.ts$/, '.expected.txt')), 'utf-8');
}

function check(script: string, out: string): void {
  if (script.startsWith('5-')) {
    assert.deepEqual(meterLines(out), meterLines(expected(script)));
  } else if (script.startsWith('4-')) {
    const usage = out.indexOf('Usage:');
    const customer = JSON.parse(out.slice(0, usage));
    assert.equal(customer.id, 'user_starter');
    assert.equal(customer.plan, 'starter');
    assert.equal(customer.meters['ai-chat-input'].value, 455000);
    assert.equal(customer.meters['ai-chat-input'].credit, 'claude-sonnet-4-input');
    assert.deepEqual(lines(out.slice(usage)), ['Usage: 91% of daily token budget', 'doc: object true true true']);
  } else {
    assert.deepEqual(lines(out), lines(expected(script)));
  }
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'limitr-npm-'));
  const name = run('npm', ['pack', '--silent', '--pack-destination', work], NPM).trim().split('\n').pop()!;
  tarball = join(work, name);
});

after(() => rmSync(work, { recursive: true, force: true }));

test('the quick start scripts are verbatim copies of the quick start', () => {
  const source = QUICKSTART;
  for (const s of SCRIPTS) {
    let text = readFileSync(join(QS, s), 'utf-8');
    if (s.startsWith('4-')) {
      // the wrapper around the fragment is marked; the fragment itself must be verbatim
      text = text.split('// ---- quick start, verbatim ----\n')[1]!.split('// ---- end')[0]!;
      for (const part of text.split('\n\nconst obj')) assert.ok(source.includes(part.trim()), s);
      continue;
    }
    assert.ok(source.includes(text.trim()), `${s} is not verbatim`);
  }
});

test('npm i <tarball>: the quick start under Node (tsx) and Bun prints the quick start text', () => {
  const dir = project('qs-npm');
  run('npm', ['i', '--no-fund', '--no-audit', '--loglevel=error', tarball], dir);
  for (const s of SCRIPTS) {
    check(s, run(BUN, ['run', s], dir));
    check(s, run(process.execPath, ['--import', TSX, s], dir));
  }
});

test('bun add <tarball>: installs and runs the quick start under Bun', () => {
  const dir = project('qs-bun');
  run(BUN, ['add', tarball], dir);
  for (const s of SCRIPTS) check(s, run(BUN, ['run', s], dir));
});

test('npm i <repo>/npm and bun add <repo>/npm install the built package', () => {
  for (const [name, cmd, args] of [
    ['dir-npm', 'npm', ['i', '--no-fund', '--no-audit', '--loglevel=error', NPM]],
    ['dir-bun', BUN, ['add', NPM]],
  ] as const) {
    const dir = project(name);
    run(cmd, [...args], dir);
    check('1-load.ts', run(BUN, ['run', '1-load.ts'], dir));
    check('1-load.ts', run(process.execPath, ['--import', TSX, '1-load.ts'], dir));
    // CommonJS consumers get the same package
    const cjs = run(process.execPath, ['-e', "const {Limitr}=require('@formata/limitr');console.log(typeof Limitr.newSync)"], dir);
    assert.equal(cjs.trim(), 'function');
  }
});
