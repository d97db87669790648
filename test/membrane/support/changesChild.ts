/**
 * A child process for the crash test (changes.test.ts): opens IMAGE as an object space with its changes
 * file, defines a class, then, step after step until it is killed, compiles a method, compiles and removes
 * another one, and every fifth step defines a class; after each step has returned it writes `done N` on
 * stdout (unbuffered).
 *
 *   node changesChild.mjs IMAGE
 */
import * as fs from "node:fs";
import { openImageFile } from "../../../src/membrane/local/imageFiles.js";

const image = process.argv[2];
const { space } = openImageFile(image);
const object = (await space.classNamed("Object"))!;
const target = await object.defineSubclass({ name: "OzKillTarget", instanceVariableNames: ["a"], category: "Oz-Kill" });
fs.writeSync(1, "ready\n");
for (let i = 0; i < 1_000_000; i++) {
  (await target.compile(`m${i}\n\t^ ${i}`, { category: "kill" })).release();
  (await target.compile(`r${i}\n\t^ 'removed soon!'`, { category: "kill" })).release();
  await target.removeMethod(`r${i}`);
  if (i % 5 === 0) (await object.defineSubclass({ name: `OzKillClass${i}`, category: "Oz-Kill" })).release();
  fs.writeSync(1, `done ${i}\n`);
}
