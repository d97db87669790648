/**
 * What the compiler needs to know about the class a method is compiled in. The compiler runs on the
 * host and never reads a guest's heap itself: whoever asks for a compilation (the bootstrap, the
 * membrane, the in-image `compile:` primitive) answers these questions from the guest.
 */
import type { BindingScope } from "../method/spec.js";

export interface CompileContext {
  /** the class's name, for error messages ("Foo class" for a metaclass) */
  className: string;
  /** every instance variable of the class, inherited ones first: the position is the field index */
  instanceVariableNames: readonly string[];
  /**
   * Resolves a name that is not a temporary, argument or instance variable: class variables (own and
   * inherited), pool variables, then globals. Answers undefined when the name is not declared anywhere;
   * the compiler then binds it in Undeclared and reports a warning.
   */
  resolveBinding(name: string): BindingScope | undefined;
}
