/**
 * The documented stack files are themselves tested: the example files, every ```yaml block
 * of docs/stack-files.md, and its ```yaml invalid block against the errors printed after it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatIssue, parseStack, readStackFile, StackError } from '../../src/spec/parse.js';
import { FIELDS } from '../../src/spec/schema.js';

// dist/test/spec/docs.test.js -> the repository root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOC = readFileSync(`${ROOT}docs/stack-files.md`, 'utf8');

interface Block { info: string; text: string; line: number }

function fencedBlocks(md: string): Block[] {
  const out: Block[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S.*)$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    assert.ok(end > i, `unclosed block at docs/stack-files.md:${i + 1}`);
    out.push({ info: open[1]!.trim(), text: lines.slice(i + 1, end).join('\n') + '\n', line: i + 1 });
    i = end;
  }
  return out;
}

const BLOCKS = fencedBlocks(DOC);

test('examples/stack.yml is exactly the smallest file, the first example of the docs', () => {
  const file = readFileSync(`${ROOT}examples/stack.yml`, 'utf8');
  assert.equal(file, BLOCKS.find((b) => b.info === 'yaml')!.text);
  assert.equal(file, [
    'services:',
    '  site:',
    '    image: site:v1',
    '    replicas: 3',
    '    command: ["/usr/bin/python3", "-m", "http.server", "8080", "--directory", "/app"]',
    '    health:',
    '      http: { port: 8080, path: /index.html }',
    '',
  ].join('\n'));
});

test('every examples/*.yml parses', async () => {
  const files = readdirSync(`${ROOT}examples`).filter((f) => /\.ya?ml$/.test(f));
  assert.ok(files.length >= 2, `example stack files: ${files.join(', ')}`);
  for (const f of files) {
    const stack = await readStackFile(`${ROOT}examples/${f}`);
    assert.ok(Object.keys(stack.services).length >= 1, f);
  }
});

test('examples/stack-full.yml uses every field', async () => {
  const stack = await readStackFile(`${ROOT}examples/stack-full.yml`);
  const services = Object.values(stack.services);
  const used = new Set(services.flatMap((s) => Object.keys(s)));
  for (const k of ['name', 'image', 'replicas', 'command', 'env', 'memoryBytes', 'cpus', 'pids', 'diskBytes', 'rw', 'etc', 'restart', 'user', 'port', 'publish', 'health', 'deploy']) {
    assert.ok(used.has(k), `stack-full.yml sets ${k}`);
  }
  assert.deepEqual(services.map((s) => s.health?.kind).sort(), ['command', 'http']);
  // the raw file names every field at each level, including the ones whose default it repeats
  const raw = readFileSync(`${ROOT}examples/stack-full.yml`, 'utf8');
  assert.ok(stack.lb, 'stack-full.yml has lb:');
  for (const k of [...FIELDS.service, ...FIELDS.health, ...FIELDS.http, ...FIELDS.lb, ...FIELDS.deploy]) assert.match(raw, new RegExp(`^\\s+${k}:`, 'm'), `stack-full.yml writes ${k}:`);
  // tls needs files beside the stack file, so `stack validate` of the example would fail: it is shown commented out
  for (const k of FIELDS.publish) assert.match(raw, new RegExp(`^\\s+(?:# )?${k}:|[{,] ${k}:`, 'm'), `stack-full.yml writes ${k}:`);
  for (const k of FIELDS.tls) assert.match(raw, new RegExp(`\\b${k}: certs/`), `stack-full.yml shows ${k}:`);
});

test('every ```yaml block of docs/stack-files.md parses', () => {
  const valid = BLOCKS.filter((b) => b.info === 'yaml');
  assert.ok(valid.length >= 4);
  for (const b of valid) {
    try {
      parseStack(b.text, `docs/stack-files.md block at line ${b.line}`);
    } catch (e) {
      assert.fail(e instanceof Error ? e.message : String(e));
    }
  }
});

test('the invalid example of the docs gives exactly the errors printed after it', () => {
  const i = BLOCKS.findIndex((b) => b.info === 'yaml invalid');
  assert.ok(i >= 0);
  const printed = BLOCKS[i + 1]!;
  assert.equal(printed.info, 'text');
  assert.throws(() => parseStack(BLOCKS[i]!.text, 'stack.yml'), (e: unknown) => {
    assert.ok(e instanceof StackError);
    assert.equal(e.issues.map(formatIssue).join('\n') + '\n', printed.text);
    assert.match(DOC, new RegExp(`starts with \`stack.yml is not a valid stack file \\(${e.issues.length} errors\\):\``));
    return true;
  });
});

test('the docs have a table row for every field', () => {
  const rows = [
    ...[...FIELDS.top, ...FIELDS.reserved, ...FIELDS.service, ...FIELDS.health.filter((k) => k !== 'http')].map((k) => `| \`${k}\` |`),
    '| `http` |',
    ...FIELDS.http.map((k) => `| \`http.${k}\` |`),
    ...FIELDS.lb.map((k) => `| \`lb.${k}\` |`),
    ...FIELDS.publish.map((k) => `| \`publish.${k}\` |`),
    ...FIELDS.tls.map((k) => `| \`tls.${k}\` |`),
    ...FIELDS.deploy.map((k) => `| \`deploy.${k}\` |`),
  ];
  for (const r of rows) assert.ok(DOC.includes(r), `docs/stack-files.md has a row ${r}`);
});

test('the stack file of docs/load-balancing.md parses, and its refusals are the messages cellblock prints', () => {
  const lb = readFileSync(`${ROOT}docs/load-balancing.md`, 'utf8');
  const blocks = fencedBlocks(lb);
  const yaml = blocks.filter((b) => b.info === 'yaml');
  assert.equal(yaml.length, 1);
  const stack = parseStack(yaml[0]!.text, 'docs/load-balancing.md');
  assert.deepEqual(stack.lb, { vip: '10.231.0.100', http: 80, https: 443 });
  assert.deepEqual(stack.services.api!.publish, { tcp: 9000 });
  // each refusal of the file-only kind, written again as a file, gives exactly the documented line
  const web = (...extra: string[]) => ['services:', '  web:', '    image: web:v1', '    command: [/app/web]', '    port: 8080', ...extra.map((l) => `    ${l}`)].join('\n') + '\n';
  for (const [text, line] of [
    [web('publish: { http: [a.example.com], tcp: 9000 }'), 'stack.yml:6:14 services.web.publish: has both http and tcp;'],
    [web('publish: { http: [Site.example.com] }'), 'stack.yml:6:23 services.web.publish.http[0]: invalid host name "Site.example.com";'],
    [web('deploy: { max_surge: 0 }'), 'stack.yml:6:26 services.web.deploy.max_surge: max_surge and max_unavailable are both 0'],
  ] as const) {
    assert.throws(() => parseStack(text, 'stack.yml'), (e: unknown) => {
      assert.ok(e instanceof StackError);
      const got = formatIssue(e.issues[0]!);
      assert.ok(got.startsWith(line), got);
      assert.ok(lb.includes(got), `docs/load-balancing.md shows ${got}`);
      return true;
    });
  }
});
