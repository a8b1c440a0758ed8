import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { DataType, tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickParamAliases } from '../ingest/clicks/click-params.js';
import { offerMacros } from '../ingest/clicks/click-tracker.js';
import { defaultPostbackParams, secretParams, statusWords } from '../ingest/postbacks/postback-params.js';
import { freePort, repoRoot, spawnKeyrev, waitFor200, type Spawned } from './helpers/process.js';
import { tempDir } from './helpers/temp.js';

/**
 * Runs the README's walk-through ("First use", then "Reports and exports") against a real keyrev
 * and checks that each command prints what the README shows after it (`# -> ...`). The curl
 * commands go through a small translator of the options the README uses into HTTP requests, so
 * the test runs where curl is not installed; it refuses options it does not know, so a README
 * that starts using one fails here until the translator learns it.
 */

/**
 * The environment of the walk-through's keyrev: nothing beyond what `npm start` uses. Postbacks
 * need the secret keyrev generates on first start, so the README reads it as its readers do
 * (`SECRET=$(cat data/postback.secret)`) and its postback line sends `&secret=$SECRET`.
 */
const keyrevEnv: Record<string, string> = {};

/** The README's address of keyrev; the test's keyrev listens elsewhere. */
const readmeHost = 'localhost:8080';

const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

interface Step {
  /** The command as written (continuation lines joined). */
  command: string;
  /** What the README shows it prints (`# -> ` and the indented `#` lines after it), or undefined. */
  expected: string | undefined;
  /** Where the command starts in README.md, for messages. */
  line: number;
}

/** The shell blocks of the sections the walk-through runs, in order, parsed into commands and what each prints. */
function walkThrough(): Step[] {
  const lines = readme.split('\n');
  const steps: Step[] = [];
  for (const heading of ['## First use', '### Reports and exports']) {
    const start = lines.findIndex((l) => l.trim() === heading);
    if (start === -1) throw new Error(`README.md has no "${heading}" section`);
    const open = lines.findIndex((l, i) => i > start && l.trim() === '```sh');
    const close = lines.findIndex((l, i) => i > open && l.trim() === '```');
    if (open === -1 || close === -1) throw new Error(`README.md: no \`\`\`sh block under "${heading}"`);
    let expecting = false;
    for (let i = open + 1; i < close; i++) {
      const text = lines[i]!;
      const arrow = /^#\s*->\s?(.*)$/.exec(text);
      const more = /^#\s{2,}(.*)$/.exec(text);
      if (arrow) {
        const step = steps.at(-1);
        if (!step || step.expected !== undefined) throw new Error(`README.md:${i + 1}: "# ->" without a command before it`);
        step.expected = arrow[1]!;
        expecting = true;
      } else if (more && expecting) {
        steps.at(-1)!.expected += `\n${more[1]!}`;
      } else if (text.trim() === '' || text.startsWith('#')) {
        expecting = false;
      } else {
        expecting = false;
        let command = text;
        const line = i + 1;
        while (command.endsWith('\\') && i + 1 < close) command = `${command.slice(0, -1)} ${lines[++i]!.trim()}`;
        steps.push({ command, expected: undefined, line });
      }
    }
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------
// A shell of the few constructs the README uses: NAME=value, $NAME, ${NAME}, "...", '...',
// \-escapes, $(cat file) and $(date [-u] +%F); and curl with -s -i -g -X -H -d -O -J.
// ---------------------------------------------------------------------------------------------

interface Output {
  stdout: string;
  exit: number;
  /** For a GET of the API: reading it again changes nothing (retried while ingest catches up). */
  readOnly: boolean;
}

const utcDate = () => new Date().toISOString().slice(0, 10);

class Shell {
  readonly vars = new Map<string, string>();

  constructor(
    private readonly cwd: string,
    private readonly port: number,
  ) {}

  async run(command: string): Promise<Output> {
    const assignment = /^([A-Za-z_]\w*)=(.*)$/s.exec(command.trim());
    if (assignment) {
      const value = this.words(assignment[2]!);
      if (value.length > 1) throw new Error(`unsupported assignment: ${command}`);
      this.vars.set(assignment[1]!, value[0] ?? '');
      return { stdout: '', exit: 0, readOnly: false };
    }
    const [program, ...args] = this.words(command);
    if (program !== 'curl') throw new Error(`the walk-through runs only curl and NAME=value lines; got: ${command}`);
    return curl(args, this.cwd, this.port);
  }

  /** Splits a command line into words, with quotes removed and expansions done, as a POSIX shell would. */
  words(source: string): string[] {
    const out: string[] = [];
    let word: string | undefined;
    const add = (text: string) => (word = (word ?? '') + text);
    for (let i = 0; i < source.length; ) {
      const c = source[i]!;
      if (c === ' ' || c === '\t' || c === '\n') {
        if (word !== undefined) out.push(word);
        word = undefined;
        i++;
      } else if (c === "'") {
        const end = source.indexOf("'", i + 1);
        if (end === -1) throw new Error(`unterminated ' in: ${source}`);
        add(source.slice(i + 1, end));
        i = end + 1;
      } else if (c === '"') {
        add('');
        i++;
        while (source[i] !== '"') {
          if (i >= source.length) throw new Error(`unterminated " in: ${source}`);
          if (source[i] === '\\' && '"\\$`'.includes(source[i + 1] ?? '')) {
            add(source[i + 1]!);
            i += 2;
          } else if (source[i] === '$') {
            const [text, next] = this.expand(source, i);
            add(text);
            i = next;
          } else {
            add(source[i++]!);
          }
        }
        i++;
      } else if (c === '\\') {
        add(source[i + 1] ?? '');
        i += 2;
      } else if (c === '$') {
        const [text, next] = this.expand(source, i);
        add(text);
        i = next;
      } else if (c === '#' && word === undefined) {
        break; // a comment
      } else if ('|;&<>`'.includes(c)) {
        throw new Error(`unsupported shell syntax ${c} in: ${source}`);
      } else {
        add(c);
        i++;
      }
    }
    if (word !== undefined) out.push(word);
    return out;
  }

  /** The expansion starting at source[i] === '$': its text and the index after it. */
  private expand(source: string, i: number): [string, number] {
    if (source[i + 1] === '(') {
      const end = source.indexOf(')', i);
      if (end === -1) throw new Error(`unterminated $( in: ${source}`);
      return [this.substitute(source.slice(i + 2, end).trim()), end + 1];
    }
    const m = /^\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))/.exec(source.slice(i));
    if (!m) return ['$', i + 1];
    const name = m[1] ?? m[2]!;
    const value = this.vars.get(name);
    if (value === undefined) throw new Error(`$${name} is used before the walk-through sets it`);
    return [value, i + m[0].length];
  }

  /** Command substitution: the few commands the README uses. */
  private substitute(command: string): string {
    const [program, ...args] = this.words(command);
    if (program === 'cat' && args.length === 1) return fs.readFileSync(path.resolve(this.cwd, args[0]!), 'utf8').replace(/\n+$/, '');
    if (program === 'date' && args.join(' ') === '-u +%F') return utcDate();
    if (program === 'date' && args.join(' ') === '+%F') {
      const now = new Date();
      return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
    }
    throw new Error(`unsupported command substitution $(${command})`);
  }
}

/** curl, for the options the README uses; exit codes as curl's. */
async function curl(args: string[], cwd: string, port: number): Promise<Output> {
  let include = false;
  let noGlob = false;
  let save = false;
  let nameFromHeader = false;
  let method: string | undefined;
  const headers: [string, string][] = [];
  const data: string[] = [];
  let url: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      if (url !== undefined) throw new Error(`curl with two URLs: ${args.join(' ')}`);
      url = arg;
      continue;
    }
    if (arg.startsWith('--')) throw new Error(`curl option ${arg} is not translated; teach test/readme.test.ts`);
    for (let j = 1; j < arg.length; j++) {
      const flag = arg[j]!;
      if ('XHd'.includes(flag)) {
        const value = j + 1 < arg.length ? arg.slice(j + 1) : args[++i];
        if (value === undefined) throw new Error(`curl -${flag} without a value`);
        if (flag === 'X') method = value;
        if (flag === 'd') {
          if (value.startsWith('@')) throw new Error('curl -d @file is not translated');
          data.push(value);
        }
        if (flag === 'H') {
          const colon = value.indexOf(':');
          headers.push([value.slice(0, colon).trim(), value.slice(colon + 1).trim()]);
        }
        break;
      }
      if (flag === 's') continue; // no progress meter here anyway
      else if (flag === 'i') include = true;
      else if (flag === 'g') noGlob = true;
      else if (flag === 'O') save = true;
      else if (flag === 'J') nameFromHeader = true;
      else throw new Error(`curl option -${flag} is not translated; teach test/readme.test.ts`);
    }
  }
  if (url === undefined) throw new Error('curl without a URL');
  // curl reads [] and {} in a URL as a pattern (ranges, sets) unless -g: filter[campaign] is a
  // bad range, and curl exits 3 having printed nothing.
  if (!noGlob && /[[\]{}]/.test(url)) return { stdout: '', exit: 3, readOnly: false };
  const m = /^(?:http:\/\/)?([^/?#]+)([/?][^#]*)?$/.exec(url);
  if (!m || m[1] !== readmeHost) throw new Error(`the walk-through may only call ${readmeHost}: ${url}`);
  const target = m[2] === undefined ? '/' : m[2].startsWith('?') ? `/${m[2]}` : m[2];
  const body = data.length > 0 ? data.join('&') : undefined;
  const verb = method ?? (body !== undefined ? 'POST' : 'GET');
  const sent: Record<string, string> = { 'user-agent': 'curl/8.5.0', accept: '*/*' };
  if (body !== undefined) sent['content-type'] = 'application/x-www-form-urlencoded';
  for (const [name, value] of headers) sent[name.toLowerCase()] = value;

  const res = await new Promise<{ status: number; statusText: string; version: string; rawHeaders: string[]; body: Buffer }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: verb, path: target, headers: sent }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode!, statusText: r.statusMessage ?? '', version: r.httpVersion, rawHeaders: r.rawHeaders, body: Buffer.concat(chunks) }));
      r.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });

  let head = '';
  if (include) {
    head = `HTTP/${res.version} ${res.status} ${res.statusText}\r\n`;
    for (let i = 0; i < res.rawHeaders.length; i += 2) head += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
    head += '\r\n';
  }
  const readOnly = verb === 'GET' && target.startsWith('/api/');
  if (save) {
    const disposition = res.rawHeaders.find((_, i) => i % 2 === 1 && res.rawHeaders[i - 1]!.toLowerCase() === 'content-disposition');
    const fromHeader = disposition ? /filename="?([^";]+)"?/.exec(disposition)?.[1] : undefined;
    const name = nameFromHeader && fromHeader ? fromHeader : path.posix.basename(target.split('?')[0]!);
    fs.writeFileSync(path.join(cwd, path.basename(name)), res.body);
    return { stdout: head, exit: 0, readOnly };
  }
  return { stdout: head + res.body.toString('utf8'), exit: 0, readOnly };
}

// ---------------------------------------------------------------------------------------------
// What the README shows, as a pattern: `...` stands for anything, a line break for any white
// space (long JSON is wrapped over several lines), YYYY-MM-DD for today's date. The ids keyrev
// hands out differ from the README's: the first output that shows one binds the README's id to
// the real one (a campaign's "id", a click's x-keyrev-click-id), and later commands and outputs
// use the real one.
// ---------------------------------------------------------------------------------------------

/** The README's example ids: values shown as a JSON "id" or as a click id header. */
function exampleIds(steps: readonly Step[]): string[] {
  const ids = new Set<string>();
  for (const { expected } of steps) {
    for (const m of (expected ?? '').matchAll(/"id":"([a-z0-9][a-z0-9_-]*)"|x-keyrev-click-id: (\d+)/gi)) ids.add(m[1] ?? m[2]!);
  }
  return [...ids];
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function pattern(expected: string, bound: ReadonlyMap<string, string>, unbound: readonly string[]): { regex: RegExp; groups: Map<string, string> } {
  let text = expected.replace(/YYYY-MM-DD/g, utcDate());
  for (const [example, actual] of bound) text = text.split(example).join(actual);
  const groups = new Map<string, string>();
  const tokens = [...unbound].sort((a, b) => b.length - a.length).map(escape);
  const splitter = new RegExp(`(\\.\\.\\.|\\s*\\n\\s*${tokens.length > 0 ? `|${tokens.join('|')}` : ''})`);
  const source = text
    .split(splitter)
    .map((part, i) => {
      if (i % 2 === 0) return escape(part);
      if (part === '...') return '[\\s\\S]*?';
      if (part.trim() === '') return '\\s*';
      const seen = groups.get(part);
      if (seen) return `\\k<${seen}>`;
      const group = `id${groups.size}`;
      groups.set(part, group);
      return `(?<${group}>${/^\d+$/.test(part) ? '\\d+' : '[a-z0-9_-]+'})`;
    })
    .join('');
  return { regex: new RegExp(`^${source}$`), groups };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the README's walk-through, against a real keyrev", () => {
  let root: string;
  let port: number;
  let keyrev: Spawned;

  beforeAll(async () => {
    root = tempDir('keyrev-readme-');
    port = await freePort();
    // The README runs its commands in the folder where `npm start` keeps ./data.
    keyrev = spawnKeyrev({ ...keyrevEnv, KEYREV_DATA_DIR: path.join(root, 'data'), PORT: String(port), HOST: '127.0.0.1' });
    await waitFor200(`http://127.0.0.1:${port}/health`, 60_000);
  }, 90_000);

  afterAll(async () => {
    keyrev?.child.kill('SIGTERM');
    await keyrev?.exited;
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('prints the generated admin key on first start and keeps it in data/admin.key, as "Start" says', () => {
    expect(readme.replace(/\s+/g, ' ')).toContain('first start it prints an admin key (also stored in `data/admin.key`;');
    const key = fs.readFileSync(path.join(root, 'data', 'admin.key'), 'utf8').trim();
    expect(key.length).toBeGreaterThanOrEqual(16);
    expect(keyrev.stdout()).toContain(key);
  });

  it('generates a postback secret on first start, prints the postback URL with it, and the walk-through sends it', () => {
    const secret = fs.readFileSync(path.join(root, 'data', 'postback.secret'), 'utf8').trim();
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(keyrev.stdout()).toContain(`/postback?cid={clickid}&payout={payout}&txid={txid}&status={status}&secret=${secret}`);
    const steps = walkThrough().map((s) => s.command);
    expect(steps).toContain('SECRET=$(cat data/postback.secret)');
    const postbacks = steps.filter((c) => c.includes('/postback?'));
    expect(postbacks.length).toBeGreaterThan(0);
    for (const command of postbacks) expect(command).toContain('&secret=$SECRET');
  });

  it('runs every command of "First use" and "Reports and exports", each printing what the README shows', async () => {
    const steps = walkThrough();
    expect(steps.length).toBeGreaterThanOrEqual(9);
    const examples = exampleIds(steps);
    expect(examples.length, 'the README shows a campaign id and a click id').toBeGreaterThanOrEqual(2);
    const bound = new Map<string, string>();
    const shell = new Shell(root, port);
    for (const step of steps) {
      const where = `README.md:${step.line}: ${step.command}`;
      // A variable assignment prints nothing; every command shows what it prints.
      if (/^[A-Za-z_]\w*=/.test(step.command) && step.expected === undefined) {
        await shell.run(step.command);
        continue;
      }
      expect(step.expected, `${where}\nshows no output ("# -> ...")`).toBeDefined();
      const unbound = examples.filter((e) => !bound.has(e));
      const early = unbound.find((e) => step.command.includes(e));
      expect(early, `${where}\nuses the id ${early} before any output shows it`).toBeUndefined();
      let command = step.command;
      for (const [example, actual] of bound) command = command.split(example).join(actual);
      const expected = step.expected!;
      const saves = /^saves (\S+)/.exec(expected);

      // Clicks and postbacks reach ClickHouse within a second: reads of the API are retried a while.
      const deadline = Date.now() + 15_000;
      const { regex, groups } = pattern(saves ? '' : expected, bound, unbound);
      let out = await shell.run(command);
      let match = out.exit === 0 ? regex.exec(out.stdout.trim()) : null;
      while (!match && out.readOnly && Date.now() < deadline) {
        await sleep(250);
        out = await shell.run(command);
        match = out.exit === 0 ? regex.exec(out.stdout.trim()) : null;
      }
      expect(out.exit, `${where}\nexits ${out.exit}${out.exit === 3 ? ' (curl reads [] or {} in the URL as a pattern: add -g)' : ''}`).toBe(0);
      expect(match, `${where}\nprinted:\n${out.stdout}\nthe README shows:\n${expected}`).not.toBeNull();
      for (const [example, group] of groups) bound.set(example, match!.groups![group]!);
      if (saves) {
        const file = saves[1]!.replace(/YYYY-MM-DD/g, utcDate());
        const saved = path.join(root, file);
        expect(fs.existsSync(saved), `${where}\nsaves ${file}`).toBe(true);
        if (file.endsWith('.parquet')) {
          const bytes = fs.readFileSync(saved);
          expect(bytes.subarray(0, 4).toString('latin1'), 'a Parquet file starts with PAR1').toBe('PAR1');
          expect(bytes.subarray(-4).toString('latin1'), 'and ends with it').toBe('PAR1');
        }
      }
    }
    expect(bound.size, 'every example id was bound to a real one').toBe(examples.length);
  }, 60_000);

  it("states the money types of exports as Arrow files carry them (attribution Decimal(18, 6), grouped Decimal(38, 6))", async () => {
    expect(readme.replace(/\s+/g, ' ')).toContain('Decimal(18, 6) in the attribution file, Decimal(38, 6) in the grouped one');
    const key = fs.readFileSync(path.join(root, 'data', 'admin.key'), 'utf8').trim();
    const day = utcDate();
    const decimals = async (report: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/export?from=${day}&to=${day}&format=arrow&report=${report}&groupBy=keyword`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      const table = tableFromIPC(new Uint8Array(await res.arrayBuffer()));
      return table.schema.fields.flatMap((f) => (DataType.isDecimal(f.type) ? [`${f.name}: Decimal(${f.type.precision}, ${f.type.scale})`] : []));
    };
    const attribution = await decimals('attribution');
    const grouped = await decimals('grouped');
    expect(attribution.length).toBeGreaterThan(0);
    expect(grouped.length).toBeGreaterThan(0);
    expect(attribution.filter((c) => !c.endsWith('Decimal(18, 6)'))).toEqual([]);
    expect(grouped.filter((c) => !c.endsWith('Decimal(38, 6)'))).toEqual([]);
  });

  it('documents every postback and click parameter name in the OpenAPI text itself', async () => {
    const spec = (await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { summary?: string; description?: string }>>;
    };
    const text = (route: string) => {
      const op = spec.paths[route]?.get ?? spec.paths[route]?.post;
      return `${op?.summary ?? ''}\n${op?.description ?? ''}`;
    };
    const postback = text('/postback');
    const bulk = text('/postbacks');
    const click = text('/c/{campaignId}');
    for (const route of [postback, bulk, click]) expect(route).not.toMatch(/README|\.md\b/);
    for (const name of Object.values(defaultPostbackParams).flat()) expect(postback, name).toContain(`\`${name}\``);
    for (const word of Object.keys(statusWords)) expect(postback, word).toContain(`\`${word}\``);
    for (const name of secretParams) expect(postback, name).toContain(`\`${name}\``);
    expect(postback).toContain('X-Signature');
    for (const name of ['secret', 'key', 'token']) expect(bulk, name).toContain(`\`${name}\``);
    for (const name of Object.values(clickParamAliases).flat()) expect(click, name).toContain(`\`${name}\``);
    for (const macro of offerMacros) expect(click, macro).toContain(`\`{${macro}}\``);
    expect(click).toContain('This link is not active.');
  });
});

describe('the curl translator', () => {
  it('refuses brackets in a URL without -g, as curl does, and knows only the options it translates', async () => {
    const dir = tempDir('keyrev-readme-shell-');
    const shell = new Shell(dir, 1);
    const globbed = await shell.run(`curl -s "${readmeHost}/api/report?filter[campaign]=x"`);
    expect(globbed).toMatchObject({ exit: 3, stdout: '' });
    await expect(shell.run(`curl --silent ${readmeHost}/health`)).rejects.toThrow(/not translated/);
    await expect(shell.run(`curl -s ${readmeHost}/api/x -H "Authorization: Bearer $NOT_SET"`)).rejects.toThrow(/before the walk-through sets it/);
    expect(shell.words(`a 'b c' "d \\"e\\"" f\\ g`)).toEqual(['a', 'b c', 'd "e"', 'f g']);
    fs.rmSync(dir, { recursive: true, force: true });
    const curlBinary = ['/usr/bin/curl', '/usr/local/bin/curl', '/bin/curl'].find((p) => fs.existsSync(p));
    if (!curlBinary) {
      console.log('curl is not installed: the translator is not compared with it');
      return;
    }
    // The real curl fails the same way before it connects anywhere.
    const real = spawnSync(curlBinary, ['-s', 'http://127.0.0.1:9/api/report?filter[campaign]=x'], { encoding: 'utf8' });
    expect(real.status).toBe(3);
    expect(real.stdout).toBe('');
  });
});
