/** Diagnostic: how long infinite recursion takes to fail (heap limit in MB as the first argument). */
import { openSession } from "../src/tools/session.js";
import { readImage } from "../src/vm/image/imageFile.js";
import { LocalObjectSpace } from "../src/membrane/local/space.js";

const limitMb = Number(process.argv[2] ?? "16");
const base = await openSession({ write: () => undefined });
const bytes = await base.snapshot();
const space = LocalObjectSpace.fromImage(bytes, base.host, { limitBytes: limitMb * 1024 * 1024 });
void readImage;
const object = await space.classNamed("Object");
await object!.compile("ozDown: n ^ (self ozDown: n + 1) + 1", { logChange: false });
const pauses: number[] = [];
space.vm.gcListeners.push((r) => void pauses.push(r.ms));
const t = performance.now();
const r = await space.evaluate("Object new ozDown: 1");
const ms = performance.now() - t;
const stats = space.vm.collector.stats;
console.log(`${limitMb} MB: ${ms.toFixed(0)} ms, ok=${r.ok} ${r.ok ? "" : `${r.errorClass}: ${r.messageText}`}`);
console.log(`young ${stats.youngCollections} full ${stats.fullCollections} gc total ${stats.totalMs.toFixed(0)} ms max ${stats.maxPauseMs.toFixed(1)} ms, pauses>50ms: ${pauses.filter((p) => p > 50).length}`);
