/**
 * The allowed arrows between stagedoor's parts, checked by `npm run lint`. Each business
 * component may import only the components listed for it; src/platform imports none of them;
 * only src/app.ts (the composition root) and src/server.ts see everything, and nothing imports
 * them back. docs/architecture.md draws the same picture.
 */
const allowed = {
  users: [],
  // What is left to sell per concert; it reads the catalog's dates and the reservation's seats through ports.
  inventory: [],
  // Events out: the outbox, webhooks and the relay. Components whose change is written in
  // TypeScript write its event through it; the others call its database function.
  events: [],
  catalog: ['events', 'inventory'],
  // Presale codes: made for the catalog's concerts, used by the queue's join.
  presale: ['catalog'],
  idempotency: [],
  queue: ['events', 'inventory', 'presale', 'users'],
  reservation: ['catalog', 'idempotency', 'inventory', 'queue', 'users'],
  wallet: ['idempotency', 'users'],
  payment: ['catalog', 'idempotency', 'queue', 'reservation', 'users'],
  // Serves the pages and their files; the pages speak to the others only over HTTP.
  web: [],
}
const components = Object.keys(allowed)

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Import cycles make a part impossible to read or test alone.', from: {}, to: { circular: true } },
    {
      name: 'platform-knows-no-component',
      severity: 'error',
      comment: 'src/platform is the plumbing every component shares; it must not depend on any of them.',
      from: { path: '^src/platform/' },
      to: { path: `^src/(${components.join('|')}|app|server|config)\\.?` },
    },
    {
      name: 'no-import-of-composition-root',
      severity: 'error',
      comment: 'Components get what they need by construction in src/app.ts; they never import it (or the server).',
      from: { path: '^src/', pathNot: '^src/server\\.ts$' },
      to: { path: '^src/(app|server)\\.ts$' },
    },
    ...components.map((component) => ({
      name: `${component}-imports-only-its-dependencies`,
      severity: 'error',
      comment: `${component} may import: ${['platform', ...allowed[component]].join(', ')}.`,
      from: { path: `^src/${component}/` },
      to: { path: `^src/(${components.filter((c) => c !== component && !allowed[component].includes(c)).join('|')}|config\\.ts)` },
    })),
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A source file nothing imports is dead code.',
      from: { orphan: true, pathNot: ['\\.d\\.ts$', '^src/server\\.ts$'] },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
    reporterOptions: {
      dot: { collapsePattern: '^src/(platform|[^/]+)/' },
    },
  },
}
