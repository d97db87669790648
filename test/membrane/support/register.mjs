// node --import ./register.mjs FILE.ts: run TypeScript sources of the project (see ts-hooks.mjs).
import { register } from "node:module";

register("./ts-hooks.mjs", import.meta.url);
