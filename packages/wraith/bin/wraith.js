#!/usr/bin/env node
// The `wraith` command: runs the compiled CLI (build with `npx tsc -b`).
import { run } from '../dist/cli.js';

run();
