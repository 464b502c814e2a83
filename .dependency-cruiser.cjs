// The layers of docs/architecture.md as rules the build checks (npm test runs `npm run lint:deps`).
// The parser is swc because dependency-cruiser cannot load TypeScript 7; swc reads the source
// before compilation, so `import type` counts as a dependency like any other.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No import cycles, type-only ones included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'side-effect-libraries-only-in-adapters',
      severity: 'error',
      comment: 'dockerode, ssh, child_process and systeminformation are reached only through src/adapters.',
      from: { path: '^src/', pathNot: '^src/adapters/' },
      to: { path: '(^|/)node_modules/(dockerode|node-ssh|ssh2|systeminformation)/|^(node:)?child_process$' },
    },
    {
      name: 'adapters-import-no-other-layer',
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: '^src/(policy|store|loop|server|tools|commands)/|^src/(cli|main|runtime)\\.ts$' },
    },
    {
      name: 'store-imports-no-upper-layer',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/(loop|server|tools|policy|commands)/|^src/(cli|runtime)\\.ts$' },
    },
    {
      name: 'policy-imports-no-loop-or-server',
      severity: 'error',
      from: { path: '^src/policy/' },
      to: { path: '^src/(loop|server|commands)/|^src/(cli|runtime)\\.ts$' },
    },
    {
      name: 'tools-import-no-loop-or-server',
      severity: 'error',
      from: { path: '^src/tools/' },
      to: { path: '^src/(loop|server|commands)/|^src/(cli|runtime)\\.ts$' },
    },
    {
      name: 'loop-and-server-are-siblings',
      severity: 'error',
      comment: 'The loop reaches the MCP server through what the composition root hands it, not by import.',
      from: { path: '^src/loop/' },
      to: { path: '^src/(server|commands)/|^src/(cli|runtime)\\.ts$' },
    },
    {
      name: 'server-imports-no-commands',
      severity: 'error',
      from: { path: '^src/server/' },
      to: { path: '^src/commands/|^src/cli\\.ts$' },
    },
    {
      name: 'shared-imports-only-shared',
      severity: 'error',
      comment: 'src/shared holds vocabulary every layer may use; it depends on no layer.',
      from: { path: '^src/shared/' },
      to: { path: '^src/(adapters|policy|store|loop|server|tools|commands)/|^src/(cli|runtime)\\.ts$' },
    },
  ],
  options: {
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
    includeOnly: { path: '^src/|node_modules|^(node:)?[a-z_]+$' },
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
