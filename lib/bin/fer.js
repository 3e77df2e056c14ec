#!/usr/bin/env node
// The `fer` command: thin wrapper over the compiled CLI (lib/dist/cli/main.js).
// Errors a user can fix print as one line; FER_DEBUG=1 prints the stack of any error.
require('../dist/cli/main').main(process.argv).catch((err) => {
  process.exitCode = 1;
  if (process.env.FER_DEBUG && err && err.stack) console.error(err.stack);
  else console.error(err && err.message ? `fer: ${err.message}` : err);
});
