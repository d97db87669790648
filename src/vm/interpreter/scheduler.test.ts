/**
 * Green processes (scheduler.ts, primitives 85-88, 136, 167, 230): priorities, semaphores, preemption,
 * yield, suspend/resume, idle slices, the timer on a fake clock, host signals and relinquishing the
 * processor. Processes log what they do with `self show: '...'` (the Transcript of the host), so each test
 * reads the interleaving as a list of strings.
 */
import { describe, expect, it } from "vitest";
import { createSmalltalkImage, type SmalltalkImage } from "../testing/smalltalk.js";
import { smallIntOop, type Oop } from "../memory/oop.js";
import { Special } from "../memory/special.js";
import { ProcessLayout, ProcessorSchedulerLayout, SemaphoreLayout } from "../memory/layout.js";
import type { Handle } from "../memory/heap.js";

const int = smallIntOop;

/** An image with a fake clock (milliseconds, advanced by the test) and semaphores S, T and Done. */
function image(): SmalltalkImage & { clock: { now: number } } {
  const st = createSmalltalkImage();
  const clock = { now: 5000 };
  st.vm.host.clock = { ...st.vm.host.clock, now: () => clock.now };
  st.vm.clockOrigin = clock.now;
  for (const name of ["S", "T", "Done"]) st.setGlobal(name, st.newSemaphore());
  return Object.assign(st, { clock });
}

/** A process running `body` and then suspending itself forever, held in global `name`. */
function spawn(st: SmalltalkImage, name: string, priority: number, body: string): Handle {
  const p = st.process(`${body}. Processor activeProcess suspend`, priority);
  st.setGlobal(name, p.oop);
  return p;
}

function scheduler(st: SmalltalkImage): Oop {
  return st.mem.fetchPointer(st.mem.specialObject(Special.schedulerAssociation), 1);
}

function activeProcess(st: SmalltalkImage): Oop {
  return st.mem.fetchPointer(scheduler(st), ProcessorSchedulerLayout.activeProcess);
}

function runQueue(st: SmalltalkImage, priority: number): Oop {
  return st.mem.fetchPointer(st.mem.fetchPointer(scheduler(st), ProcessorSchedulerLayout.quiescentProcessLists), priority - 1);
}

describe("priorities", () => {
  it("runs the highest priority runnable process, and lower ones when it waits", () => {
    const st = image();
    spawn(st, "A", 30, "self show: 'A'");
    spawn(st, "B", 50, "self show: 'B'");
    spawn(st, "C", 40, "self show: 'C'");
    const job = st.start("A resume. C resume. B resume. self show: 'main'. Done wait");
    const slice = st.vm.run();
    expect(st.output).toEqual(["B", "main", "C", "A"]);
    expect(slice.reason).toBe("idle");
    expect(slice.wakeAt).toBeUndefined();
    expect(job.done).toBe(false);
  });

  it("keeps a process of equal or lower priority waiting until the active one lets go", () => {
    const st = image();
    spawn(st, "Low", 10, "self show: 'low'");
    spawn(st, "Same", 40, "self show: 'same'");
    const job = st.start("Low resume. Same resume. 1 to: 3 do: [:i | self show: 'main']. #done");
    st.vm.run();
    expect(st.output).toEqual(["main", "main", "main", "same", "low"]);
    expect(job.result).toBe(st.sym("done"));
  });
});

describe("semaphores", () => {
  it("counts excess signals and consumes them without waiting", () => {
    const st = image();
    const job = st.start("| a b | S signal; signal; signal. a := S excessSignals. S wait; wait. b := S excessSignals. {a. b}");
    st.vm.run();
    const [a, b] = [0, 1].map((i) => st.mem.fetchPointer(job.result!, i));
    expect(a).toBe(int(3));
    expect(b).toBe(int(1));
  });

  it("blocks a waiter until a signal, waking waiters in FIFO order, without counting the signal", () => {
    const st = image();
    spawn(st, "P1", 50, "S wait. self show: 'p1'");
    spawn(st, "P2", 50, "S wait. self show: 'p2'");
    spawn(st, "P3", 50, "S wait. self show: 'p3'");
    const job = st.start("P1 resume. P2 resume. P3 resume. self show: 'waiting'. S signal. S signal. S signal. S excessSignals");
    st.vm.run();
    expect(st.output).toEqual(["waiting", "p1", "p2", "p3"]);
    expect(job.result).toBe(int(0));
  });

  it("treats a semaphore whose excessSignals is nil as one with none", () => {
    const st = image();
    const job = st.start("| s | s := Semaphore new. s signal. s wait. s excessSignals");
    st.vm.run();
    expect(job.result).toBe(int(0));
  });
});

describe("preemption", () => {
  it("lets a process made runnable at a higher priority preempt, and puts the preempted one first in its list", () => {
    const st = image();
    spawn(st, "H", 50, "S wait. self show: 'H'");
    spawn(st, "Q", 40, "self show: 'Q'");
    st.start("H resume. Q resume. S signal. self show: 'main'. Done wait");
    st.vm.run();
    expect(st.output).toEqual(["H", "main", "Q"]);
  });

  it("preempts on a signal from the host and on the timer, resuming the interrupted computation intact", () => {
    const st = image();
    spawn(st, "H", 60, "[S wait. Hits := Hits + 1] repeat");
    st.setGlobal("Hits", int(0));
    const job = st.start("| sum | H resume. sum := 0. 1 to: 10000 do: [:i | sum := sum + i]. sum");
    st.vm.run({ bytecodes: 1000 });
    st.vm.signalSemaphoreAsync(st.global("S"));
    st.vm.run({ bytecodes: 1000 });
    st.vm.signalSemaphoreAsync(st.global("S"));
    st.vm.signalSemaphoreAsync(st.global("S"));
    st.vm.run();
    expect(st.global("Hits")).toBe(int(3));
    expect(job.result).toBe(int(50005000));
  });
});

describe("yield", () => {
  it("runs the processes of one priority round-robin", () => {
    const st = image();
    for (const name of ["A", "B", "C"]) spawn(st, name, 40, `1 to: 3 do: [:i | self show: '${name}'. Processor yield]`);
    st.start("A resume. B resume. C resume. Done wait");
    st.vm.run();
    expect(st.output.join("")).toBe("ABCABCABC");
  });

  it("does nothing when no other process of the same priority is runnable", () => {
    const st = image();
    spawn(st, "Low", 30, "self show: 'low'");
    const job = st.start("Low resume. Processor yield. self show: 'main'. Processor yield. #done");
    st.vm.run();
    expect(st.output).toEqual(["main", "low"]);
    expect(job.result).toBe(st.sym("done"));
  });
});

describe("suspend and resume", () => {
  it("answers the semaphore a waiting process was on, and takes it off", () => {
    const st = image();
    spawn(st, "P", 50, "S wait. self show: 'P woke'");
    spawn(st, "R", 50, "S wait. self show: 'R woke'");
    const job = st.start("| list | P resume. R resume. list := P suspend. S signal. self show: 'main'. P resume. {list == S. P myList}");
    st.vm.run();
    // R got the signal; P, resumed at 50, ran as soon as it was made runnable again
    expect(st.output).toEqual(["R woke", "main", "P woke"]);
    const [sameList, myList] = [0, 1].map((i) => st.mem.fetchPointer(job.result!, i));
    expect(sameList).toBe(st.mem.trueOop);
    expect(myList).toBe(st.mem.nilOop);
  });

  it("answers the run queue of a runnable process, and nil for the active one (which resumes with nil)", () => {
    const st = image();
    spawn(st, "Low", 30, "self show: 'low'");
    spawn(st, "Waker", 20, "Main resume");
    const job = st.start("| queue r | Main := Processor activeProcess. Low resume. queue := Low suspend. Waker resume. r := Main suspend. {queue. r}");
    st.vm.run();
    const [queue, r] = [0, 1].map((i) => st.mem.fetchPointer(job.result!, i));
    expect(queue).toBe(runQueue(st, 30));
    expect(r).toBe(st.mem.nilOop);
    expect(st.output).toEqual([]); // Low was suspended before it could run
  });

  it("takes a process out of the middle of a semaphore's waiters", () => {
    const st = image();
    for (const name of ["P1", "P2", "P3"]) spawn(st, name, 50, `S wait. self show: '${name}'`);
    st.start("P1 resume. P2 resume. P3 resume. P2 suspend. S signal. S signal. S signal. Done wait");
    st.vm.run();
    expect(st.output).toEqual(["P1", "P3"]);
    const sem = st.global("S");
    expect(st.mem.fetchPointer(sem, SemaphoreLayout.excessSignals)).toBe(int(1));
    expect(st.mem.fetchPointer(sem, SemaphoreLayout.firstLink)).toBe(st.mem.nilOop);
    expect(st.mem.fetchPointer(sem, SemaphoreLayout.lastLink)).toBe(st.mem.nilOop);
  });

  it("refuses to resume a process that is already runnable or waiting", () => {
    const st = image();
    spawn(st, "P", 30, "self show: 'P'");
    const job = st.start("P resume. {P resume. Processor activeProcess resume}");
    st.vm.run();
    const results = [0, 1].map((i) => st.mem.fetchPointer(job.result!, i));
    expect(results).toEqual([st.sym("failed"), st.sym("failed")]);
    expect(st.output).toEqual(["P"]);
  });
});

describe("idle slices, timers and host signals", () => {
  it("ends the slice idle when every process waits, and resumes on a host signal", () => {
    const st = image();
    const job = st.start("S wait. self show: 'signalled'. #done");
    const first = st.vm.run();
    expect(first.reason).toBe("idle");
    expect(first.wakeAt).toBeUndefined();
    expect(activeProcess(st)).toBe(st.mem.nilOop);
    expect(st.vm.run().reason).toBe("idle"); // nothing happened: still idle
    st.vm.signalSemaphoreAsync(st.global("S"));
    st.vm.run();
    expect(st.output).toEqual(["signalled"]);
    expect(job.result).toBe(st.sym("done"));
  });

  it("delivers host signals posted during a slice at the next interrupt check, one each", () => {
    const st = image();
    st.vm.registerModule("Test", {
      post: (vm, argc) => {
        vm.signalSemaphoreAsync(st.global("S"));
        vm.signalSemaphoreAsync(st.global("S"));
        vm.pop(argc);
        return true;
      },
    });
    st.compile("Object", "post <primitive: 'post' module: 'Test'> ^#failed");
    const job = st.start("self post. self yourself. S excessSignals");
    st.vm.run();
    expect(job.result).toBe(int(2));
  });

  it("ignores host signals of things that are not semaphores", () => {
    const st = image();
    st.vm.signalSemaphoreAsync(st.mem.nilOop);
    st.vm.signalSemaphoreAsync(int(3));
    st.vm.signalSemaphoreAsync(st.array([]));
    const job = st.start("3 + 4");
    st.vm.run();
    expect(job.result).toBe(int(7));
  });

  it("fires the timer (primitive 136) at the VM's millisecond clock, telling the host when to wake it", () => {
    const st = image();
    const job = st.start("| t | t := self msClock. self signal: T atMilliseconds: t + 100. T wait. self show: 'timer'. self msClock - t");
    let slice = st.vm.run();
    expect(slice.reason).toBe("idle");
    expect(slice.wakeAt).toBe(100);
    st.clock.now += 99;
    slice = st.vm.run();
    expect(slice.reason).toBe("idle");
    expect(slice.wakeAt).toBe(100);
    expect(st.output).toEqual([]);
    st.clock.now += 1;
    st.vm.run();
    expect(st.output).toEqual(["timer"]);
    expect(job.result).toBe(int(100));
    expect(st.mem.specialObject(Special.timerSemaphore)).toBe(st.global("T"));
  });

  it("cancels the timer with a nil semaphore", () => {
    const st = image();
    const job = st.start("self signal: T atMilliseconds: self msClock + 10. self signal: nil atMilliseconds: 0. T wait");
    const slice = st.vm.run();
    expect(slice.reason).toBe("idle");
    expect(slice.wakeAt).toBeUndefined();
    st.clock.now += 1000;
    expect(st.vm.run().reason).toBe("idle");
    expect(job.done).toBe(false);
  });

  it("wakes a timer process at the highest priority in the middle of a computation", () => {
    const st = image();
    spawn(st, "Timer", 80, "self signal: T atMilliseconds: self msClock + 5. T wait. self show: 'tick'");
    const job = st.start("| n | Timer resume. n := 0. [n < 200000] whileTrue: [n := n + 1]. self show: 'done'. n");
    st.vm.run({ bytecodes: 10_000 });
    expect(st.output).toEqual([]);
    st.clock.now += 5;
    st.vm.run();
    expect(st.output).toEqual(["tick", "done"]);
    expect(job.result).toBe(int(200000));
  });

  it("ends the slice idle when the idle process relinquishes the processor, with wakeAt set by the timer", () => {
    const st = image();
    spawn(st, "Idle", 10, "[Processor relinquishProcessorForMicroseconds: 1000] repeat");
    const job = st.start("Idle resume. self signal: T atMilliseconds: self msClock + 50. T wait. self show: 'woke'. #done");
    let slice = st.vm.run();
    expect(slice.reason).toBe("idle");
    expect(slice.wakeAt).toBe(50);
    // the idle process is the active one: it relinquished, it does not wait
    expect(st.mem.fetchPointer(activeProcess(st), ProcessLayout.priority)).toBe(int(10));
    st.clock.now += 50;
    slice = st.vm.run();
    expect(st.output).toEqual(["woke"]);
    expect(job.result).toBe(st.sym("done"));
    expect(slice.reason).toBe("idle"); // back to the idle process, which relinquishes again
    expect(slice.wakeAt).toBeUndefined();
  });

  it("resumes from a relinquishing idle process on a host signal", () => {
    const st = image();
    spawn(st, "Idle", 10, "[Processor relinquishProcessorForMicroseconds: 1000] repeat");
    const job = st.start("Idle resume. S wait. #got");
    expect(st.vm.run().reason).toBe("idle");
    st.vm.signalSemaphoreAsync(st.global("S"));
    st.vm.run();
    expect(job.result).toBe(st.sym("got"));
  });
});
