#!/usr/bin/env node
import { runMain } from '@kiln/core';
import { main } from './main.js';

await runMain(main);
