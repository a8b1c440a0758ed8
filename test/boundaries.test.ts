import fs from 'node:fs';
import path from 'node:path';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/process.js';
import { tempDir } from './helpers/temp.js';

const sourceFolders = ['core', 'warehouse', 'schema', 'admin', 'analytics', 'ingest', 'search', 'outbound', 'feeds', 'alerts', 'costs', 'server', 'web'];

async function cruiseIn(baseDir: string, withTsConfig: boolean): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions(path.join(repoRoot, '.dependency-cruiser.cjs'));
  if (!withTsConfig) delete options.tsConfig;
  const folders = sourceFolders.filter((f) => fs.existsSync(path.join(baseDir, f)));
  const result = await cruise(folders, { ...options, baseDir, outputType: 'json' });
  return JSON.parse(result.output as string) as ICruiseResult;
}

/** The folder a file belongs to, as the boundary rules see it (ingest's sub-folders are modules of their own). */
function folderOf(file: string): string | undefined {
  const m = /^(ingest\/[^/]+|[^/]+)\//.exec(file);
  return m && sourceFolders.some((f) => m[1]!.startsWith(f)) ? m[1] : undefined;
}

function folderCycle(result: ICruiseResult): string[] | undefined {
  const edges = new Map<string, Set<string>>();
  for (const m of result.modules) {
    const from = folderOf(m.source);
    for (const d of m.dependencies) {
      const to = folderOf(d.resolved);
      if (from && to && from !== to) edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
  }
  const state = new Map<string, 'open' | 'done'>();
  const visit = (node: string, trail: string[]): string[] | undefined => {
    if (state.get(node) === 'open') return [...trail.slice(trail.indexOf(node)), node];
    if (state.get(node) === 'done') return undefined;
    state.set(node, 'open');
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next, [...trail, node]);
      if (cycle) return cycle;
    }
    state.set(node, 'done');
    return undefined;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node, []);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('import boundaries', () => {
  it('the source tree breaks no boundary rule and no folder sits in an import cycle', async () => {
    const result = await cruiseIn(repoRoot, true);
    expect(result.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([]);
    expect(result.modules.length).toBeGreaterThan(50);
    expect(folderCycle(result)).toBeUndefined();
  }, 60_000);

  it('fails on planted violations: core importing a module, a module reaching into another, a folder cycle', async () => {
    const dir = tempDir('keyrev-boundaries-');
    const write = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    };
    write('core/money.ts', "import { ledger } from '../ingest/postbacks/ledger';\nexport const money = ledger;\n");
    write('ingest/postbacks/ledger.ts', 'export const ledger = 1;\n');
    write('ingest/postbacks/index.ts', "export { ledger } from './ledger';\n");
    write('ingest/clicks/tracker.ts', "import { ledger } from '../postbacks/ledger';\nexport const tracker = ledger;\n");
    write('warehouse/store.ts', "import { tracker } from '../ingest/clicks/tracker';\nexport const store = tracker;\n");
    write('admin/campaigns.ts', "import { store } from '../warehouse/store';\nexport const campaigns = store;\n");
    write('ingest/clicks/uses-admin.ts', "import { campaigns } from '../../admin/campaigns';\nexport const c = campaigns;\n");
    write('outbound/index.ts', 'export const outbound = 1;\n');
    write('search/visits.ts', "import { outbound } from '../outbound/index';\nexport const visits = outbound;\n");
    write('analytics/uses-search.ts', "import { visits } from '../search/visits';\nexport const v = visits;\n");
    const result = await cruiseIn(dir, false);
    const broken = new Set(result.summary.violations.map((v) => v.rule.name));
    expect(broken).toContain('core-imports-nothing');
    expect(broken).toContain('modules-through-their-index');
    expect(broken).toContain('warehouse-only-core');
    expect(broken).toContain('ingest-paths-do-not-use-each-other-or-reports');
    expect(broken).toContain('capabilities-are-leaves');
    expect(broken).toContain('analytics-does-not-use-ingest');
    expect(folderCycle(result)).toBeDefined();
  }, 60_000);
});
