// Lint: typescript-eslint's recommended rules plus the layer rules of docs/architecture.md.
// The layers are enforced on import specifiers (so a type-only import can be allowed where the
// architecture allows it) and cycles by import-x/no-cycle over resolved files.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const SERVER = 'packages/server/src';

/** An import whose specifier matches `regex` is refused with `message`. */
const ban = (regex, message, allowTypeImports = false) => ({ regex, message, allowTypeImports });

// Relative imports that reach into another package's folder instead of going through its name.
const otherPackageByPath = ban('^(\\.\\./)+(protocol|sdk|server|web|test-kit)/', 'Import another package by its name (@parley/...), not by path');
const serverSide = ban('^@parley/(server|test-kit)(/|$)', 'Clients never import the server or the test kit');
const clientSide = ban('^@parley/(sdk|web)$', 'The server uses the SDK only in tests');
const testKit = ban('^@parley/test-kit$', 'Only tests import the test kit');

// Server layers, lowest first: lib ← adapters ← modules ← http | gateway ← wiring (context, server, main, cli).
const toWiring = ban('(^|/)(server|main|cli|index)\\.ts$', 'Only the entry points import the wiring');
const toContext = ban('(^|/)context\\.ts$', 'Only the wiring and the transports (as a type) use the app context', true);
const toServices = ban('(^|/)services\\.ts$', 'Lower layers do not know the services modules get');
const toModules = ban('(^|/)modules/', 'Lower layers do not import domain modules');
const toAdapters = ban('(^|/)adapters/', 'lib holds pure helpers: no adapters');
const toHttp = ban('(^|/)http/', 'Only the wiring imports the HTTP layer');
const toGateway = ban('(^|/)gateway/', 'Only the wiring imports the WebSocket gateway');
const transportPackages = ban(
  '^(fastify|@fastify/.*|ws|ioredis|pg|better-sqlite3)$',
  'Domain code knows nothing of HTTP, WebSocket, Redis or SQL drivers: use the adapters',
);

// The domain areas, lowest first (docs/architecture.md). A new area takes its place in this list.
const MODULE_ORDER = [
  'limits',
  'sync',
  'presence',
  'devices',
  'sessions',
  'invites',
  'accounts',
  'chats',
  'mls',
  'files',
  'messages',
  'push',
  'calls',
  'cleanup',
  'userdata',
];

const layers = [
  { name: 'protocol', files: ['packages/protocol/src/**'], bans: [ban('^@parley/', 'The protocol depends on nothing of ours'), otherPackageByPath] },
  { name: 'sdk', files: ['packages/sdk/src/**'], bans: [serverSide, ban('^@parley/web$', 'The SDK does not know the web client'), otherPackageByPath] },
  { name: 'web', files: ['packages/web/src/**'], bans: [serverSide, otherPackageByPath] },
  // The test kit starts real servers and drives them through the SDK; it knows nothing of the web client.
  { name: 'test kit', files: ['packages/test-kit/src/**'], bans: [ban('^@parley/web$', 'The test kit does not know the web client'), otherPackageByPath] },
  {
    name: 'server lib',
    files: [`${SERVER}/lib/**`, `${SERVER}/logger.ts`, `${SERVER}/metrics.ts`, `${SERVER}/config/**`],
    bans: [clientSide, testKit, otherPackageByPath, toWiring, toContext, toServices, toModules, toAdapters, toHttp, toGateway],
  },
  {
    name: 'server adapters',
    files: [`${SERVER}/adapters/**`],
    bans: [clientSide, testKit, otherPackageByPath, toWiring, toContext, toServices, toModules, toHttp, toGateway],
  },
  {
    name: 'server modules',
    files: [`${SERVER}/modules/**`],
    bans: [clientSide, testKit, otherPackageByPath, toWiring, toContext, toHttp, toGateway, transportPackages],
  },
  // The domain areas form a DAG: each imports only the areas before it.
  ...MODULE_ORDER.map((area, i) => ({
    name: `server module ${area}`,
    files: [`${SERVER}/modules/${area}/**`],
    bans: [
      clientSide,
      testKit,
      otherPackageByPath,
      toWiring,
      toContext,
      toHttp,
      toGateway,
      transportPackages,
      ...(i + 1 < MODULE_ORDER.length
        ? [ban(`(^|/)(${MODULE_ORDER.slice(i + 1).join('|')})/`, `modules/${area} comes before ${MODULE_ORDER.slice(i + 1).join(', ')} in the module order`)]
        : []),
    ],
  })),
  {
    name: 'server wiring',
    files: ['context', 'server', 'main', 'cli', 'index'].map((f) => `${SERVER}/${f}.ts`),
    bans: [clientSide, testKit, otherPackageByPath],
  },
  { name: 'server http', files: [`${SERVER}/http/**`], bans: [clientSide, testKit, otherPackageByPath, toWiring, toContext, toGateway] },
  { name: 'server gateway', files: [`${SERVER}/gateway/**`], bans: [clientSide, testKit, otherPackageByPath, toWiring, toContext, toHttp] },
];

// Tests may use anything below them; source files of lower layers keep their own rules.
const tests = ['**/*.test.ts', 'packages/*/test/**', 'packages/web/e2e/**'];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.tools/**', '**/test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports' }],
    },
  },
  ...layers.map((layer) => ({
    name: layer.name,
    files: layer.files,
    ignores: tests,
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: layer.bans }] },
  })),
  {
    // Every frame the server writes is a typed ServerFrame encoded in one place.
    name: 'server frames',
    files: [`${SERVER}/**`],
    ignores: [`${SERVER}/gateway/frame-codec.ts`, ...tests],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports' },
        {
          selector: "CallExpression[callee.object.name='JSON'][callee.property.name='stringify'] > ObjectExpression > Property[key.name='type']",
          message: 'Frames are encoded by gateway/frame-codec.ts from a typed ServerFrame',
        },
        {
          selector:
            "CallExpression[callee.property.name='send'][callee.object.property.name='ws'], CallExpression[callee.property.name='send'][callee.object.name='ws']",
          message: 'Sockets are written only by gateway/frame-codec.ts',
        },
      ],
    },
  },
  {
    // Tests feed the server values its types forbid, on purpose.
    name: 'tests',
    files: tests,
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Tool configs and vitest global setups are loaded through their default export.
    name: 'config files',
    files: ['*.config.{js,ts}', 'packages/*/vite.config.ts', 'packages/web/e2e/_build-once.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    name: 'node scripts',
    files: ['scripts/**', 'packages/*/scripts/**', 'packages/*/bin/**', '*.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
