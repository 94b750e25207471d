// The server suites' helpers live in @parley/test-kit, shared with the web client's browser suite.
export * from '@parley/test-kit';
