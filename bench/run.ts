/**
 * `npm run bench`: runs every benchmark and prints Markdown tables for BENCHMARKS.md, with the machine
 * and the date. `npm run bench -- vm` runs one group.
 */
import { machine, table, type Measurement } from "./harness.js";
import { vmBenchmarks } from "./vm.js";
import { hypervisorBenchmarks } from "./hypervisor.js";
import { remoteBenchmarks } from "./remote.js";
import { metricsBenchmarks } from "./metrics.js";

const GROUPS: Record<string, { title: string; run: () => Promise<Measurement[]> }> = {
  vm: { title: "VM: tiny benchmarks, allocation, GC", run: () => vmBenchmarks() },
  hypervisor: { title: "Hypervisor: fairness, quotas, responsiveness, switches, density", run: () => hypervisorBenchmarks() },
  remote: { title: "Remote object spaces: latency and throughput over loopback", run: () => remoteBenchmarks() },
  metrics: { title: "Metrics: the cost of a scrape with many guests", run: () => metricsBenchmarks() },
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length > 0 ? wanted : Object.keys(GROUPS);
  console.log(`Machine: ${machine()}\nDate: ${new Date().toISOString().slice(0, 10)}\n`);
  for (const name of names) {
    const group = GROUPS[name];
    if (!group) {
      console.error(`unknown benchmark group ${name}; groups: ${Object.keys(GROUPS).join(", ")}`);
      process.exitCode = 2;
      return;
    }
    console.log(table(group.title, await group.run()));
    console.log("");
  }
}

await main();
