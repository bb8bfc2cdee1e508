#!/usr/bin/env node
import { runMain } from '@kiln/core/start';
import { main } from './main.js';

await runMain(main);
