#!/usr/bin/env node
// The `fer` command: thin wrapper over the compiled CLI (lib/dist/cli/main.js).
require('../dist/cli/main').main(process.argv).catch((err) => {
  process.exitCode = 1;
  console.error(err && err.message ? `fer: ${err.message}` : err);
});
