/**
 * The few TypeBox builders the config schema uses, with TypeBox's names and the same JSON
 * output, as plain objects. Every command reads the config schema (flags, validation) and
 * importing TypeBox costs ~55 ms of start-up; only the admin API needs TypeBox itself (it can
 * wrap this schema with `Type.Unsafe`).
 */

/** A JSON Schema node (with the config's `x-` annotations). */
export type JsonSchema = { [key: string]: any };

type Options = Record<string, unknown>;

/** Properties wrapped in Type.Optional: left out of their object's `required`. */
const optional = new WeakSet<JsonSchema>();

export const Type = {
  Optional<S extends JsonSchema>(schema: S): S {
    optional.add(schema);
    return schema;
  },
  Object(properties: Record<string, JsonSchema>, options: Options = {}): JsonSchema {
    const required = Object.keys(properties).filter((k) => !optional.has(properties[k]!));
    return { ...options, type: 'object', ...(required.length > 0 ? { required } : {}), properties };
  },
  Record(key: JsonSchema, value: JsonSchema, options: Options = {}): JsonSchema {
    return { ...options, type: 'object', patternProperties: { [key.pattern as string]: value } };
  },
  Array(items: JsonSchema, options: Options = {}): JsonSchema {
    return { ...options, type: 'array', items };
  },
  Union(anyOf: JsonSchema[], options: Options = {}): JsonSchema {
    return { ...options, anyOf };
  },
  Literal(value: string | number): JsonSchema {
    return { const: value, type: typeof value === 'number' ? 'number' : 'string' };
  },
  String(options: Options = {}): JsonSchema {
    return { ...options, type: 'string' };
  },
  Integer(options: Options = {}): JsonSchema {
    return { ...options, type: 'integer' };
  },
  Boolean(options: Options = {}): JsonSchema {
    return { ...options, type: 'boolean' };
  },
};
