#!/usr/bin/env node
// The oz command-line tool; the implementation is src/tools/cli/oz.ts, compiled to dist/ by `npm run build`.
import { main } from "../dist/src/tools/cli/oz.js";

process.exitCode = await main(process.argv.slice(2));
