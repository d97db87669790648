/**
 * The membrane (the Oz paper's sections 3 and 4): the ObjectSpace facade and its mirrors, the values that
 * cross by translation, and the changes-file tools. Tools import from here; the local implementation is
 * in ./local, the remote one in src/remote.
 */
export * from "./objectSpace.js";
export * from "./values.js";
