/**
 * A load-independent measurement for tuning the interpreter: run with
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null node dist/bench/instructions.js WORKLOAD N
 * for two values of N; the difference of the instruction counts divided by the difference of N is the
 * cost of one run of the workload, free of startup and JIT warm-up. Workloads: fib (27 benchFib),
 * sieve (10 iterations of the sieve).
 */
import { openSession } from "../src/tools/session.js";

const [workload = "fib", countText = "1"] = process.argv.slice(2);
const space = await openSession({ write: () => undefined });
const integer = await space.classNamed("Integer");
const object = await space.classNamed("Object");
await integer!.compile("ozBenchFib ^ self < 2 ifTrue: [1] ifFalse: [(self - 1) ozBenchFib + (self - 2) ozBenchFib + 1]", { logChange: false });
await integer!.compile(`ozSieve
	| size flags prime k count |
	size := 8190.
	1 to: self do: [:iter |
		count := 0.
		flags := Array new: size.
		1 to: size do: [:i | flags ozAt: i put: true].
		1 to: size do: [:i | (flags ozAt: i) ifTrue: [prime := i + 1. k := i + prime. [k <= size] whileTrue: [flags ozAt: k put: false. k := k + prime]. count := count + 1]]].
	^ count`, { logChange: false });
await object!.compile("ozAt: i <primitive: 60> ^ nil", { logChange: false });
await object!.compile("ozAt: i put: v <primitive: 61> ^ nil", { logChange: false });
const expr = workload === "sieve" ? "10 ozSieve" : "27 ozBenchFib";
await space.evaluate(expr);
await space.evaluate(expr);
for (let i = 0; i < Number(countText); i++) await space.evaluate(expr);
const vm = space.vm;
console.log(`bytecodes ${vm.bytecodeCount} sends ${vm.sendCount}`);
