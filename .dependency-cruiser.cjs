// The import boundaries of keyrev, checked by `npm run lint` (dependency-cruiser).
// Layers, lowest first: core (imports nothing of keyrev) < warehouse < schema < modules < server.
// Modules (admin, analytics, ingest/clicks, ingest/postbacks, ingest/spool, and the capabilities
// built on them: search, outbound, feeds) use each other only through their index.ts, and only
// downwards: admin < ingest/spool < ingest/clicks, ingest/postbacks; admin < analytics; the
// capabilities on top, imported by no other module. With strict layers no folder can sit in an
// import cycle.
const capabilities = 'search|outbound|feeds|alerts|costs';
const modules = `^(admin|analytics|ingest/clicks|ingest/postbacks|ingest/spool|${capabilities})/`;
const keyrevFolders = `core|warehouse|schema|admin|analytics|ingest|server|${capabilities}`;
const product = `^(${keyrevFolders})/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'an import cycle between files', from: {}, to: { circular: true } },
    {
      name: 'core-imports-nothing',
      severity: 'error',
      comment: 'core/ is the shared kernel: it may not import any part of keyrev',
      from: { path: '^core/' },
      to: { path: `^(${keyrevFolders}|web)/`, pathNot: '^core/' },
    },
    {
      name: 'warehouse-only-core',
      severity: 'error',
      comment: 'the warehouse speaks SQL for the modules; it may not import a module',
      from: { path: '^warehouse/' },
      to: { path: `^(${keyrevFolders}|web)/`, pathNot: '^(core|warehouse)/' },
    },
    {
      name: 'schema-only-warehouse',
      severity: 'error',
      from: { path: '^schema/' },
      to: { path: `^(${keyrevFolders}|web)/`, pathNot: '^(core|warehouse|schema)/' },
    },
    {
      name: 'nothing-imports-the-root',
      severity: 'error',
      comment: 'server/ is the composition root: only tests and benches import it',
      from: { path: `^(${keyrevFolders}|web)/`, pathNot: '^server/' },
      to: { path: '^server/' },
    },
    {
      name: 'modules-through-their-index',
      severity: 'error',
      comment: "a module may use another module only through that module's index.ts",
      from: { path: modules },
      to: { path: modules, pathNot: ['^$1/', `${modules}index\\.ts$`] },
    },
    {
      name: 'admin-is-below-the-other-modules',
      severity: 'error',
      from: { path: '^admin/' },
      to: { path: `^(analytics|ingest|${capabilities})/` },
    },
    {
      name: 'spool-is-below-the-ingest-paths',
      severity: 'error',
      from: { path: '^ingest/spool/' },
      to: { path: `^(analytics|admin|ingest/clicks|ingest/postbacks|${capabilities})/` },
    },
    {
      name: 'ingest-paths-do-not-use-each-other-or-reports',
      severity: 'error',
      from: { path: '^ingest/(clicks|postbacks)/' },
      to: { path: `^(analytics|ingest/(clicks|postbacks)|${capabilities})/`, pathNot: ['^ingest/$1/'] },
    },
    {
      name: 'analytics-does-not-use-ingest',
      severity: 'error',
      from: { path: '^analytics/' },
      to: { path: `^(ingest|${capabilities})/` },
    },
    {
      name: 'capabilities-are-leaves',
      severity: 'error',
      comment: 'search, outbound and feeds build on the modules below; no module depends on them (events carry what they need)',
      from: { path: `^(${capabilities})/` },
      to: { path: `^(${capabilities})/`, pathNot: ['^$1/'] },
    },
    {
      name: 'web-is-a-browser-app',
      severity: 'error',
      comment: 'the dashboard talks to the HTTP API only; it imports no server code',
      from: { path: '^web/' },
      to: { path: product },
    },
  ],
  options: {
    // The product's folders, whichever exist: tests, benches and scripts are not checked.
    includeOnly: `^(${keyrevFolders}|web)/`,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|web/dist|data|test-results|\\.scratch)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
