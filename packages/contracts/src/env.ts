// The shape of one documented environment variable. Each package that reads the environment
// exports a table of these; docs/ renders them into the one configuration table.
export interface EnvVarDoc {
  name: string;
  /** The default as the variable would be written; absent when there is none. */
  default?: string;
  description: string;
}
