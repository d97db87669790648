#!/usr/bin/env node
// ozd, the Oz hypervisor daemon; the implementation is src/hypervisor/cli.ts, compiled to dist/ by `npm run build`.
import { main } from "../dist/src/hypervisor/cli.js";

process.exit(await main(process.argv.slice(2)));
