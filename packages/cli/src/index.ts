#!/usr/bin/env node
import { closeHttpPools } from '@kiln/core';
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
// Kept-alive connections are done with: close them rather than wait for the servers to.
await closeHttpPools();
