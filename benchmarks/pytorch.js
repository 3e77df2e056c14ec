'use strict';
/**
 * The PyTorch side of the benches: Debian's python3-torch lives under /usr/bin/python3 (a python3 earlier on PATH,
 * e.g. pyenv's, usually has no torch), and a missing torch should say how to get it.
 */
const fs = require('fs');

const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** The error text of a failed PyTorch run, with the fix when torch is not installed. */
function pytorchError(message) {
  return /No module named '?torch'?/.test(message) ? `${message} (install Debian's python3-torch: apt-get install python3-torch)` : message;
}

module.exports = { PYTHON, pytorchError };
