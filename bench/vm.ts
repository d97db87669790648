/**
 * The VM benchmarks of issue 2: the classic tiny benchmarks (a sieve for bytecodes per second, benchFib
 * for sends per second) on the kernel image, next to the same algorithms in plain JavaScript; GC pauses
 * and allocation rate.
 */
import { openSession } from "../src/tools/session.js";
import type { LocalObjectSpace } from "../src/membrane/local/space.js";
import type { GcResult } from "../src/vm/memory/gc.js";
import { bestOf, percentile, type Measurement } from "./harness.js";

const BENCH_METHODS = [
  // Squeak's Integer>>benchmark (the sieve), with the array primitives called directly
  `ozBenchmark
	| size flags prime k count |
	size := 8190.
	1 to: self do: [:iter |
		count := 0.
		flags := Array new: size.
		1 to: size do: [:i | flags ozAt: i put: true].
		1 to: size do: [:i |
			(flags ozAt: i) ifTrue: [
				prime := i + 1.
				k := i + prime.
				[k <= size] whileTrue: [flags ozAt: k put: false. k := k + prime].
				count := count + 1]]].
	^ count`,
  `ozBenchFib
	^ self < 2 ifTrue: [1] ifFalse: [(self - 1) ozBenchFib + (self - 2) ozBenchFib + 1]`,
  `ozAllocate
	| a |
	1 to: self do: [:i | a := Array new: 8. a ozAt: 1 put: i].
	^ a`,
];

const ARRAY_METHODS = [
  `ozAt: index
	<primitive: 60>
	^ self error: 'index'`,
  `ozAt: index put: value
	<primitive: 61>
	^ self error: 'index'`,
];

async function install(space: LocalObjectSpace): Promise<void> {
  const integer = await space.classNamed("Integer");
  const object = await space.classNamed("Object");
  if (!integer || !object) throw new Error("the kernel image has no Integer or Object");
  for (const src of BENCH_METHODS) await integer.compile(src, { logChange: false });
  for (const src of ARRAY_METHODS) await object.compile(src, { logChange: false });
}

async function run(space: LocalObjectSpace, expr: string): Promise<number> {
  const r = await space.evaluate(expr);
  if (!r.ok) throw new Error(`${expr}: ${r.errorClass}: ${r.messageText}`);
  return Number(await r.value.toLocal());
}

function jsSieve(n: number): number {
  let count = 0;
  for (let iter = 0; iter < n; iter++) {
    const size = 8190;
    const flags = new Array<boolean>(size + 1).fill(true);
    count = 0;
    for (let i = 1; i <= size; i++) {
      if (flags[i]) {
        const prime = i + 1;
        for (let k = i + prime; k <= size; k += prime) flags[k] = false;
        count++;
      }
    }
  }
  return count;
}

function jsFib(n: number): number {
  return n < 2 ? 1 : jsFib(n - 1) + jsFib(n - 2) + 1;
}

export async function vmBenchmarks(runs = 5): Promise<Measurement[]> {
  const space = await openSession({ write: () => undefined });
  await install(space);
  const vm = space.vm;
  const out: Measurement[] = [];

  // Warm up the host's JIT on both paths until its optimizing tier is done with the interpreter loop (a
  // short warm-up left V8 compiling in the background during the measured runs, whose CPU time counts):
  // steady state is what tinyBenchmarks measures too, by running for at least a second.
  for (let i = 0; i < 3; i++) {
    await run(space, "200 ozBenchmark");
    await run(space, "27 ozBenchFib");
  }
  jsSieve(200);
  jsFib(27);

  const sieveIterations = 300;
  const before = vm.bytecodeCount;
  const sieve = await bestOf(runs, () => run(space, `${sieveIterations} ozBenchmark`));
  const executed = (vm.bytecodeCount - before) / runs;
  const jsSieveTime = await bestOf(runs, () => jsSieve(sieveIterations));
  const classicRate = (sieveIterations * 500_000 * 1000) / sieve.ms;
  out.push({
    name: "sieve: bytecodes/sec (tinyBenchmarks formula)", value: classicRate, unit: "bytecodes/s",
    reference: (sieveIterations * 500_000 * 1000) / jsSieveTime.ms, note: `${sieveIterations} iterations in ${sieve.ms.toFixed(0)} ms`,
  });
  out.push({ name: "sieve: bytecodes executed/sec (VM counter)", value: (executed * 1000) / sieve.ms, unit: "bytecodes/s" });

  const fibN = 30;
  const sendsBefore = vm.sendCount;
  const fib = await bestOf(runs, () => run(space, `${fibN} ozBenchFib`));
  const jsFibTime = await bestOf(runs, () => jsFib(fibN));
  out.push({
    name: `benchFib ${fibN}: sends/sec`, value: (fib.result * 1000) / fib.ms, unit: "sends/s",
    reference: (fib.result * 1000) / jsFibTime.ms, note: `${fib.result} calls in ${fib.ms.toFixed(0)} ms (${((vm.sendCount - sendsBefore) / runs / fib.result).toFixed(2)} VM sends per call)`,
  });

  // allocation and GC pauses
  const pauses: number[] = [];
  const listener = (r: GcResult) => void pauses.push(r.ms);
  vm.gcListeners.push(listener);
  const allocated0 = space.mem.stats.allocatedBytes;
  const alloc = await bestOf(1, () => run(space, "3000000 ozAllocate"));
  const allocatedBytes = space.mem.stats.allocatedBytes - allocated0;
  vm.gcListeners.splice(vm.gcListeners.indexOf(listener), 1);
  out.push({ name: "allocation rate (Array new: 8 loop)", value: (allocatedBytes * 1000) / alloc.ms, unit: "bytes/s", note: `${(allocatedBytes / 2 ** 20).toFixed(0)} MiB in ${alloc.ms.toFixed(0)} ms` });
  out.push({ name: "GC pauses, median", value: percentile(pauses, 50), unit: "ms", note: `${pauses.length} collections` });
  out.push({ name: "GC pauses, p99", value: percentile(pauses, 99), unit: "ms" });
  out.push({ name: "GC pauses, max", value: Math.max(0, ...pauses), unit: "ms" });
  const full = await bestOf(3, async () => vm.collect(true));
  out.push({ name: "full GC of the kernel image", value: full.ms, unit: "ms", note: `${(space.mem.bytesUsed() / 1024).toFixed(0)} KiB live` });
  return out;
}
