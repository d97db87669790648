/** The kernel's conformance suite (suite.ts) on the interpreter as it normally runs: every fast path on. */
import { defineKernelSuite } from "./suite.js";

defineKernelSuite({ name: "fast paths" });
