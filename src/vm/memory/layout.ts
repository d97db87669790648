/**
 * The instance variables the VM and the membrane rely on, by class. This is the "special classes internal
 * representation" part of the paper's image contract (section 3.6): the kernel's class definitions must
 * start with exactly these names in this order (the bootstrap checks it), and a foreign image used with
 * Oz must follow the same layout.
 */

export const BehaviorLayout = { superclass: 0, methodDict: 1, format: 2 } as const;
export const ClassDescriptionLayout = { instanceVariables: 3, organization: 4 } as const;
export const ClassLayout = {
  subclasses: 5, name: 6, classPool: 7, sharedPools: 8, environment: 9, category: 10,
} as const;
export const MetaclassLayout = { thisClass: 5 } as const;

/** MethodDictionary: named tally and values array; the indexable part holds the selectors. */
export const MethodDictionaryLayout = { tally: 0, values: 1 } as const;

/** Context (Squeak's MethodContext): named fields, then the stack (arguments, temporaries, operands). */
export const ContextLayout = {
  sender: 0, pc: 1, stackp: 2, method: 3, closureOrNil: 4, receiver: 5,
} as const;
export const CONTEXT_FIXED_SIZE = 6;
export const SMALL_FRAME_SIZE = 16;
export const LARGE_FRAME_SIZE = 56;

/** BlockClosure: named fields, then the copied values. */
export const BlockClosureLayout = { outerContext: 0, startpc: 1, numArgs: 2 } as const;
export const BLOCK_CLOSURE_FIXED_SIZE = 3;

export const LinkLayout = { nextLink: 0 } as const;
export const ProcessLayout = {
  nextLink: 0, suspendedContext: 1, priority: 2, myList: 3, name: 4, env: 5, effectiveProcess: 6,
  terminating: 7,
} as const;
export const LinkedListLayout = { firstLink: 0, lastLink: 1 } as const;
export const SemaphoreLayout = { firstLink: 0, lastLink: 1, excessSignals: 2 } as const;
export const ProcessorSchedulerLayout = { quiescentProcessLists: 0, activeProcess: 1 } as const;
export const HIGHEST_PRIORITY = 80;

export const AssociationLayout = { key: 0, value: 1 } as const;
export const MessageLayout = { selector: 0, args: 1, lookupClass: 2 } as const;
export const PointLayout = { x: 0, y: 1 } as const;
export const SymbolTableLayout = { tally: 0, buckets: 1 } as const;

/**
 * The named instance variables of each VM-known class, in order, including inherited ones. The bootstrap
 * refuses a kernel whose definitions do not start with these.
 */
export const REQUIRED_INSTANCE_VARIABLES: Record<string, readonly string[]> = {
  Behavior: ["superclass", "methodDict", "format"],
  ClassDescription: ["superclass", "methodDict", "format", "instanceVariables", "organization"],
  Class: [
    "superclass", "methodDict", "format", "instanceVariables", "organization",
    "subclasses", "name", "classPool", "sharedPools", "environment", "category",
  ],
  Metaclass: ["superclass", "methodDict", "format", "instanceVariables", "organization", "thisClass"],
  MethodDictionary: ["tally", "array"],
  Context: ["sender", "pc", "stackp", "method", "closureOrNil", "receiver"],
  BlockClosure: ["outerContext", "startpc", "numArgs"],
  Process: [
    "nextLink", "suspendedContext", "priority", "myList", "name", "env", "effectiveProcess", "terminating",
  ],
  LinkedList: ["firstLink", "lastLink"],
  Semaphore: ["firstLink", "lastLink", "excessSignals"],
  ProcessorScheduler: ["quiescentProcessLists", "activeProcess"],
  Association: ["key", "value"],
  Message: ["selector", "args", "lookupClass"],
  Point: ["x", "y"],
  SymbolTable: ["tally", "buckets"],
};
