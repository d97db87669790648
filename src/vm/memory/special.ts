/**
 * Indices into the special objects array, 0-based (the Oz paper's appendix and Squeak count from 1:
 * "1 nil" is index 0 here). Entries past 55 are Oz's extensions of the image contract (paper section 4.6).
 */
export const Special = {
  nil: 0,
  false: 1,
  true: 2,
  schedulerAssociation: 3,
  classBitmap: 4,
  classSmallInteger: 5,
  classByteString: 6,
  classArray: 7,
  smalltalkDictionary: 8,
  classFloat: 9,
  classMethodContext: 10,
  classBlockContext: 11,
  classPoint: 12,
  classLargePositiveInteger: 13,
  theDisplay: 14,
  classMessage: 15,
  classCompiledMethod: 16,
  lowSpaceSemaphore: 17,
  classSemaphore: 18,
  classCharacter: 19,
  selectorDoesNotUnderstand: 20,
  selectorCannotReturn: 21,
  processSignalingLowSpace: 22,
  specialSelectors: 23,
  characterTable: 24,
  selectorMustBeBoolean: 25,
  classByteArray: 26,
  classProcess: 27,
  compactClasses: 28,
  timerSemaphore: 29,
  interruptSemaphore: 30,
  floatProto: 31,
  largePositiveIntegerProto: 32,
  pointProto: 33,
  selectorCannotInterpret: 34,
  methodContextProto: 35,
  classBlockClosure: 36,
  blockContextProto: 37,
  externalObjectsArray: 38,
  classMutex: 39,
  processInExternalCodeTag: 40,
  finalizationSemaphore: 41,
  classLargeNegativeInteger: 42,
  classExternalAddress: 43,
  classExternalStructure: 44,
  classExternalData: 45,
  classExternalFunction: 46,
  classExternalLibrary: 47,
  selectorAboutToReturn: 48,
  selectorRunWithIn: 49,
  selectorAttemptToAssign: 50,
  primErrTable: 51,
  classAlien: 52,
  selectorInvokeCallback: 53,
  classUnsafeAlien: 54,
  classWeakFinalizer: 55,
  // Oz extensions
  classByteSymbol: 56,
  symbolTable: 57,
  classAssociation: 58,
  classMethodDictionary: 59,
  /** an Array of the processes stopped by an unhandled error, so that a host can find them */
  failedProcesses: 60,
  classMetaclass: 61,
  classUndefinedObject: 62,
  classTrue: 63,
  classFalse: 64,
  classProcessorScheduler: 65,
  classLinkedList: 66,
  classWordArray: 67,
  /** the Undeclared dictionary: bindings of variables used before they are defined */
  undeclared: 68,
  /** an Array of the kernel source file names that method source pointers index */
  sourceFiles: 69,
  classSymbolTable: 70,
  classString: 71,
  classSymbol: 72,
  selectorUnhandledError: 73,
  classWideString: 74,
  /**
   * Floats outside SmallFloat64's range (infinities, NaN, magnitudes beyond 2^±127) are instances of this
   * class, as in 64-bit Pharo; the others of classFloat (SmallFloat64). Nil in images without it.
   */
  classBoxedFloat64: 75,
} as const;

export const SPECIAL_OBJECTS_SIZE = 80;

export type SpecialIndex = (typeof Special)[keyof typeof Special];

/** Names by index, for tools and error messages. */
export const SPECIAL_NAMES: string[] = (() => {
  const names: string[] = [];
  for (const [name, index] of Object.entries(Special)) names[index] = name;
  return names;
})();

/**
 * The 32 special selectors of bytecodes 176..207, with their argument counts. The special selectors
 * array in the image holds them as selector, argCount pairs in this order.
 */
export const SPECIAL_SELECTORS: ReadonlyArray<readonly [string, number]> = [
  ["+", 1], ["-", 1], ["<", 1], [">", 1], ["<=", 1], [">=", 1], ["=", 1], ["~=", 1],
  ["*", 1], ["/", 1], ["\\\\", 1], ["@", 1], ["bitShift:", 1], ["//", 1], ["bitAnd:", 1], ["bitOr:", 1],
  ["at:", 1], ["at:put:", 2], ["size", 0], ["next", 0], ["nextPut:", 1], ["atEnd", 0], ["==", 1], ["class", 0],
  ["blockCopy:", 1], ["value", 0], ["value:", 1], ["do:", 1], ["new", 0], ["new:", 1], ["x", 0], ["y", 0],
];
