import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { envVarNames } from '../core/config.js';
import { conversionStatuses } from '../core/conversion.js';
import { clickParamAliases } from '../ingest/clicks/click-params.js';
import { offerMacros } from '../ingest/clicks/click-tracker.js';
import { defaultPostbackParams, secretParams, statusWords } from '../ingest/postbacks/postback-params.js';
import { repoRoot } from './helpers/process.js';

/**
 * The README and docs/*.md document every environment variable, postback parameter, status word
 * and click parameter the code reads, and name only files the project ships.
 */

interface Doc {
  /** Path from the repository root, e.g. docs/postbacks.md. */
  file: string;
  text: string;
}

const read = (file: string): Doc => ({ file, text: fs.readFileSync(path.join(repoRoot, file), 'utf8') });
const docsDir = path.join(repoRoot, 'docs');
const docs: Doc[] = [
  read('README.md'),
  ...(fs.existsSync(docsDir) ? fs.readdirSync(docsDir).filter((f) => f.endsWith('.md')).sort().map((f) => read(`docs/${f}`)) : []),
];
const doc = (file: string): string => docs.find((d) => d.file === file)?.text ?? '';

/** Fenced code blocks, then inline code, blanked out: what is left is prose (for links). */
const withoutFences = (text: string) => text.replace(/^```[^\n]*\n[\s\S]*?^```[ \t]*$/gm, '');
const prose = (text: string) => withoutFences(text).replace(/`[^`\n]*`/g, '');
const backticked = (text: string) => [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);

/** The text of a `## Heading` (or `###`) section, up to the next heading of the same or a higher level. */
function section(text: string, heading: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.replace(/^#+\s*/, '') === heading && /^#+\s/.test(l));
  if (start === -1) return '';
  const level = /^#+/.exec(lines[start]!)![0].length;
  const end = lines.findIndex((l, i) => i > start && /^#+\s/.test(l) && /^#+/.exec(l)![0].length <= level);
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

/** The rows of the markdown tables in a text, as arrays of cells (header and separator rows left out). */
function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => /^\|.*\|\s*$/.test(l.trim()) && !/^\|[\s|:-]+\|\s*$/.test(l.trim()))
    .map((l) => l.trim().slice(1, -1).split('|').map((c) => c.trim()));
}

/** The row whose first cell is exactly `name` in backticks. */
const rowOf = (rows: string[][], name: string) => rows.find((r) => r[0] === `\`${name}\``);

/** Backticked names in a cell, leaving out what stands in parentheses (remarks). */
const namesIn = (cell: string | undefined) => backticked((cell ?? '').replace(/\([^)]*\)/g, ''));

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(text: string): Set<string> {
  return new Set(withoutFences(text).split('\n').filter((l) => /^#+\s/.test(l)).map((l) => slug(l.replace(/^#+\s*/, ''))));
}

/** Paths .gitignore names: what a run makes (data/, bench/results/, ...), never in a clone. */
const ignored = fs
  .readFileSync(path.join(repoRoot, '.gitignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#') && !l.includes('*'))
  .map((l) => l.replace(/^\//, '').replace(/\/$/, ''));
const isIgnored = (rel: string) => ignored.some((g) => rel === g || rel.startsWith(`${g}/`));

/** The repository's top-level folders (hidden and ignored ones left out). */
const topFolders = fs
  .readdirSync(repoRoot, { withFileTypes: true })
  .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules' && !isIgnored(e.name))
  .map((e) => e.name);

/** Text files of the project (dependencies, run-time output and .git left out), from the repository root. */
function projectFiles(dir = repoRoot): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    const rel = path.relative(repoRoot, full).split(path.sep).join('/');
    if (e.name === 'node_modules' || e.name === '.git' || isIgnored(rel)) return [];
    if (e.isDirectory()) return projectFiles(full);
    return /\.(?:ts|mjs|cjs|js|sql|md|ya?ml|html|css)$|^Dockerfile$|^\.[a-z]+rc$/.test(e.name) ? [rel] : [];
  });
}
const shippedNames = new Set(projectFiles().map((f) => path.posix.basename(f)));

/** A mention of a markdown file, with its folders: `docs/postbacks.md`, `../README.md`. */
const mdMention = /(?<![\w./-])((?:\.{1,2}\/)*[\w./-]*[\w-]\.md)\b/g;

const fileExtensions = /\.(?:ts|mts|mjs|cjs|js|json|md|sql|ya?ml|sh)$/;

/** Whether backticked text names a file or folder of the repository (rather than a route, a type, a value...). */
function isRepoPath(token: string): boolean {
  if (/\s|:\/\/|[=?{}<>:*]/.test(token) || token.startsWith('/') || token.startsWith('@')) return false;
  if (topFolders.includes(token.split('/')[0]!) && token.includes('/')) return true;
  return fileExtensions.test(token) || /^\.[A-Za-z][\w.-]*$/.test(token);
}

/**
 * Whether a path named in `fromFile` exists, read from the repository root or from the naming
 * file's folder. A bare file name such as `index.ts` (each module has one) must be the name of a
 * file somewhere in the project.
 */
function exists(target: string, fromFile: string): boolean {
  const clean = target.replace(/\/$/, '');
  if (!clean.includes('/') && !clean.endsWith('.md') && shippedNames.has(clean)) return true;
  return [path.join(repoRoot, clean), path.join(repoRoot, path.dirname(fromFile), clean)].some((p) => fs.existsSync(p));
}

/**
 * Every way a document can point at a file that is not there: relative markdown links (and their
 * #anchors), backticked repository paths, and any mention of a .md file.
 */
function brokenReferences(d: Doc, others: readonly Doc[]): string[] {
  const broken: string[] = [];
  for (const m of prose(d.text).matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
    const target = m[1]!;
    if (/^(?:https?|mailto):/i.test(target)) continue;
    const [file, anchor] = target.split('#') as [string, string | undefined];
    const resolved = file === '' ? d.file : path.posix.normalize(path.posix.join(path.posix.dirname(d.file), file));
    if (file !== '' && !fs.existsSync(path.join(repoRoot, resolved))) {
      broken.push(`${d.file}: link to ${target}: no such file`);
      continue;
    }
    if (anchor !== undefined && resolved.endsWith('.md')) {
      const targetText = others.find((o) => o.file === resolved)?.text ?? (file === '' ? d.text : fs.readFileSync(path.join(repoRoot, resolved), 'utf8'));
      if (!anchorsOf(targetText).has(anchor)) broken.push(`${d.file}: link to ${target}: no heading #${anchor}`);
    }
  }
  for (const token of backticked(withoutFences(d.text))) {
    if (isRepoPath(token) && !isIgnored(token.replace(/\/$/, '')) && !exists(token, d.file)) broken.push(`${d.file}: \`${token}\`: no such file in the repository`);
  }
  for (const m of d.text.matchAll(mdMention)) {
    if (!exists(m[1]!, d.file)) broken.push(`${d.file}: names ${m[1]}, which the project does not ship`);
  }
  return [...new Set(broken)];
}

describe('README and docs/', () => {
  it('exist: the README links every reference in docs/', () => {
    const readme = doc('README.md');
    const references = docs.map((d) => d.file).filter((f) => f.startsWith('docs/'));
    expect(references).toEqual(expect.arrayContaining(['docs/postbacks.md', 'docs/attribution.md', 'docs/clicks.md', 'docs/search-ads.md']));
    for (const file of references) {
      expect(docs.map((d) => d.file), file).toContain(file);
      expect(readme, `the README links ${file}`).toContain(`](${file})`);
    }
  });

  it("list every environment variable of core/config.ts in the README's Configuration table, and no other", () => {
    const table = tableRows(section(doc('README.md'), 'Configuration'));
    const documented = table.flatMap((row) => backticked(row[0] ?? ''));
    expect(envVarNames).toContain('KEYREV_JOBS');
    expect(envVarNames.filter((name) => !documented.includes(name)), 'variables missing from the table').toEqual([]);
    expect(documented.filter((name) => !envVarNames.includes(name)), 'variables in the table that keyrev does not read').toEqual([]);
  });

  it('list each postback field with exactly its default names, in the order they are read (docs/postbacks.md)', () => {
    const rows = tableRows(section(doc('docs/postbacks.md'), 'Parameters'));
    for (const [field, names] of Object.entries(defaultPostbackParams)) {
      const row = rowOf(rows, field);
      expect(row, `a row for ${field}`).toBeDefined();
      expect(namesIn(row![1]), `the names of ${field}`).toEqual([...names]);
    }
  });

  it('list every status word under its status, and no word keyrev does not accept (docs/postbacks.md)', () => {
    const rows = tableRows(section(doc('docs/postbacks.md'), 'Statuses'));
    for (const status of conversionStatuses) {
      const row = rowOf(rows, status);
      expect(row, `a row for ${status}`).toBeDefined();
      const words = Object.keys(statusWords).filter((w) => statusWords[w] === status);
      expect(namesIn(row![1]).sort(), `the words of ${status}`).toEqual(words.sort());
    }
  });

  it('name the secret and signature parameters and the signature header (docs/postbacks.md)', () => {
    const names = backticked(doc('docs/postbacks.md'));
    for (const name of [...secretParams, 'X-Signature']) expect(names, name).toContain(name);
    const secrets = section(doc('docs/postbacks.md'), 'Secrets');
    for (const name of ['secret', 'key', 'token']) expect(backticked(secrets), `${name} under "Secrets"`).toContain(name);
    const signatures = backticked(section(doc('docs/postbacks.md'), 'Signatures'));
    for (const name of ['signature', 'sig', 'X-Signature']) expect(signatures, `${name} under "Signatures"`).toContain(name);
  });

  it('list each click column with exactly its parameter names, and every offer URL macro (docs/clicks.md)', () => {
    const clicks = doc('docs/clicks.md');
    const rows = tableRows(section(clicks, 'Parameters'));
    for (const [column, names] of Object.entries(clickParamAliases)) {
      const row = rowOf(rows, column);
      expect(row, `a row for ${column}`).toBeDefined();
      expect(namesIn(row![1]), `the names of ${column}`).toEqual([...names]);
    }
    const macros = backticked(section(clicks, 'Offer URL macros')).join(' ');
    for (const macro of offerMacros) expect(macros, `{${macro}}`).toContain(`{${macro}}`);
  });

  it('name only files and headings that exist: links, backticked paths, .md files', () => {
    const broken = docs.flatMap((d) => brokenReferences(d, docs));
    expect(broken).toEqual([]);
  });

  it('the reference check finds what is missing (a broken link, path, anchor and .md name)', () => {
    // Names built at run time, so that this file itself names no missing markdown file.
    const md = (name: string) => `${name}.md`;
    const missing = md('NO-SUCH-NOTES');
    const planted: Doc = {
      file: `docs/${md('planted')}`,
      text: [
        '# Planted',
        `See [the notes](${missing}), [the README](../README.md) and [a section](${md('postbacks')}#no-such-heading).`,
        'The metrics are in `analytics/no-such-metrics.ts` or `no-such-helper.ts`; `data/admin.key` is made at run time, each module has an `index.ts`.',
        `As ${missing} says.`,
      ].join('\n'),
    };
    const broken = brokenReferences(planted, docs);
    expect(broken.some((b) => b.includes(`link to ${missing}`))).toBe(true);
    expect(broken.some((b) => b.includes('#no-such-heading'))).toBe(true);
    expect(broken.some((b) => b.includes('analytics/no-such-metrics.ts'))).toBe(true);
    expect(broken.some((b) => b.includes('no-such-helper.ts'))).toBe(true);
    expect(broken.some((b) => b.includes('../README.md') || b.includes('data/admin.key') || b.includes('index.ts'))).toBe(false);
    expect(broken.some((b) => b.includes(`names ${missing}`))).toBe(true);
  });

  it("list the project's folders in the README's Development layout, each module among them", () => {
    const layout = /```\n([\s\S]*?)```/.exec(section(doc('README.md'), 'Development'))?.[1] ?? '';
    const listed = layout
      .split('\n')
      .map((l) => /^(\S+\/)\s/.exec(l)?.[1])
      .filter((p): p is string => p !== undefined);
    expect(listed.filter((p) => !fs.existsSync(path.join(repoRoot, p))), 'listed folders that do not exist').toEqual([]);
    expect(topFolders.filter((f) => !listed.some((p) => p.startsWith(`${f}/`))), 'folders not listed').toEqual([]);
    // A module is a folder with a plugin.ts: each is listed on its own line.
    const modules = topFolders.flatMap((f) => [f, ...fs.readdirSync(path.join(repoRoot, f), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `${f}/${e.name}`)]);
    const withPlugin = modules.filter((m) => fs.existsSync(path.join(repoRoot, m, 'plugin.ts')));
    expect(withPlugin.length).toBeGreaterThanOrEqual(5);
    expect(withPlugin.filter((m) => !listed.includes(`${m}/`)), 'modules not listed').toEqual([]);
  });
});

describe('the project', () => {
  it('names no markdown file it does not ship, in code, SQL, comments or docs', () => {
    const files = projectFiles();
    expect(files).toContain('schema/001_clicks.sql');
    const broken = files.flatMap((file) => {
      const text = fs.readFileSync(path.join(repoRoot, file), 'utf8');
      return [...text.matchAll(mdMention)].filter((m) => !exists(m[1]!, file)).map((m) => `${file}: ${m[1]}`);
    });
    expect(broken).toEqual([]);
  });
});
