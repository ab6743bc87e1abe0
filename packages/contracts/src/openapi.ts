// OpenAPI 3.1 from the zod schemas. Each service registers its routes (method, path, request
// parts, responses) on a registry; `document()` turns them into one OpenAPI document, with every
// schema that carries a `.meta({ id })` hoisted into `components.schemas` and referenced by `$ref`.
// Request bodies use zod's input view (defaults make fields optional), responses the output view;
// where the two differ, the input component is named `<id>Input`. Paths are written Express-style
// (`/corpora/:id`) and emitted OpenAPI-style (`/corpora/{id}`).
import { z } from 'zod';
import { ProblemSchema } from './errors.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Default `application/json`; e.g. `text/event-stream` or `application/problem+json`. */
  contentType?: string;
}

export interface RouteSpec {
  method: HttpMethod;
  /** Express-style path, e.g. `/corpora/:corpusId/items`. */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  request?: {
    params?: z.ZodObject;
    query?: z.ZodObject;
    body?: z.ZodType;
    /** Default `application/json`; use `multipart/form-data` for uploads. */
    bodyContentType?: string;
  };
  responses: Record<number, ResponseSpec>;
  /** Whether the bearer API key applies (default true; health and metrics say false). */
  secured?: boolean;
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
  servers?: { url: string; description?: string }[];
}

type JsonSchema = Record<string, unknown>;
export type OpenApiDocument = {
  openapi: '3.1.0';
  info: Omit<OpenApiInfo, 'servers'>;
  servers?: OpenApiInfo['servers'];
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
  security: Record<string, string[]>[];
};

/** Thrown when two routes claim the same method and path. */
export class DuplicateRouteError extends Error {
  constructor(method: string, path: string) {
    super(`route ${method.toUpperCase()} ${path} is registered twice`);
    this.name = 'DuplicateRouteError';
  }
}

type Io = 'input' | 'output';

/** Collects `$defs` of converted schemas into one components table. */
class ComponentTable {
  readonly schemas: Record<string, JsonSchema> = {};
  private readonly seen = new Map<string, string>();

  /** Converts a zod schema and returns the JSON Schema to embed (a `$ref` when the schema has an id). */
  convert(schema: z.ZodType, io: Io): JsonSchema {
    const json = z.toJSONSchema(schema, {
      io,
      target: 'draft-2020-12',
      unrepresentable: 'any',
    }) as JsonSchema;
    const { $defs, $schema: _, ...body } = json as JsonSchema & { $defs?: Record<string, JsonSchema> };
    const rename = this.placeAll($defs ?? {}, io);
    // A schema with an id comes back as `{$ref, $defs: {id: ...}}`, so it becomes a component too.
    return rewriteRefs(body, rename);
  }

  /**
   * Places a conversion's `$defs`, dependencies before dependents, so each def's refs are rewritten
   * to the names its dependencies actually got. Defs in a cycle keep their plain names.
   */
  private placeAll(defs: Record<string, JsonSchema>, io: Io): Map<string, string> {
    const rename = new Map<string, string>();
    let pending = Object.keys(defs);
    while (pending.length) {
      const ready = pending.filter((id) =>
        refsOf(defs[id]).every((r) => r === id || rename.has(r) || !(r in defs)),
      );
      const batch = ready.length ? ready : pending;
      for (const id of batch) rename.set(id, this.place(id, rewriteRefs(defs[id], rename), io));
      pending = pending.filter((id) => !batch.includes(id));
    }
    return rename;
  }

  /**
   * Stores a component under its id; returns the name used. The first view stored takes the plain
   * id (document() converts responses first, so that is the output view); a differing view of the
   * same schema gets the suffix `Input` or `Output`.
   */
  private place(id: string, def: JsonSchema, io: Io): string {
    const text = JSON.stringify(def);
    const existing = this.seen.get(id);
    if (existing === undefined) {
      this.seen.set(id, text);
      this.schemas[id] = def;
      return id;
    }
    if (existing === text) return id;
    const alt = `${id}${io === 'input' ? 'Input' : 'Output'}`;
    this.schemas[alt] = def;
    return alt;
  }
}

/** Ids of the `$defs` a schema refers to. */
function refsOf(node: JsonSchema): string[] {
  return [...JSON.stringify(node).matchAll(/"#\/\$defs\/([^"]+)"/g)].map((m) => m[1]);
}

function rewriteRefs(node: JsonSchema, rename: Map<string, string>): JsonSchema {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(v)) {
        if (k === '$ref' && typeof val === 'string' && val.startsWith('#/$defs/')) {
          const id = val.slice('#/$defs/'.length);
          out[k] = `#/components/schemas/${rename.get(id) ?? id}`;
        } else out[k] = walk(val);
      }
      return out;
    }
    return v;
  };
  return walk(node) as JsonSchema;
}

function parameters(table: ComponentTable, where: 'path' | 'query', schema: z.ZodObject | undefined) {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const fieldSchema = field as z.ZodType;
    const json = table.convert(fieldSchema, 'input');
    const description = z.globalRegistry.get(fieldSchema)?.description;
    return {
      name,
      in: where,
      required: where === 'path' || !fieldSchema.safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema: json,
    };
  });
}

export class OpenApiRegistry {
  readonly routes: RouteSpec[] = [];

  /** Registers one route; returns the registry so calls chain. */
  add(route: RouteSpec): this {
    if (this.routes.some((r) => r.method === route.method && r.path === route.path)) {
      throw new DuplicateRouteError(route.method, route.path);
    }
    this.routes.push(route);
    return this;
  }

  /** Emits the OpenAPI 3.1 document for every registered route. */
  document(info: OpenApiInfo): OpenApiDocument {
    const table = new ComponentTable();
    const problemRef = table.convert(ProblemSchema, 'output');
    // Responses first, so shared components are named after their output view.
    const responses = this.routes.map((route) => responsesOf(table, route, problemRef));
    const paths: OpenApiDocument['paths'] = {};
    this.routes.forEach((route, i) => {
      const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const params = [
        ...parameters(table, 'path', route.request?.params),
        ...parameters(table, 'query', route.request?.query),
      ];
      const body = route.request?.body;
      paths[path] ??= {};
      paths[path][route.method] = {
        operationId: operationId(route),
        summary: route.summary,
        ...(route.description ? { description: route.description } : {}),
        ...(route.tags ? { tags: route.tags } : {}),
        ...(params.length ? { parameters: params } : {}),
        ...(body
          ? {
              requestBody: {
                required: true,
                content: {
                  [route.request?.bodyContentType ?? 'application/json']: {
                    schema: table.convert(body, 'input'),
                  },
                },
              },
            }
          : {}),
        responses: responses[i],
        ...(route.secured === false ? { security: [] } : {}),
      };
    });
    const { servers, ...rest } = info;
    return {
      openapi: '3.1.0',
      info: rest,
      ...(servers ? { servers } : {}),
      paths,
      components: {
        schemas: table.schemas,
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'MMIT_API_KEY, when set' },
        },
      },
      // Applies to every operation that does not override it with `security: []`.
      security: [{ bearer: [] }],
    };
  }
}

function responsesOf(
  table: ComponentTable,
  route: RouteSpec,
  problemRef: JsonSchema,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    out[status] = {
      description: spec.description,
      ...(spec.schema
        ? {
            content: {
              [spec.contentType ?? 'application/json']: { schema: table.convert(spec.schema, 'output') },
            },
          }
        : spec.contentType
          ? { content: { [spec.contentType]: {} } }
          : {}),
    };
  }
  out.default = {
    description: 'Error (RFC 9457 problem details)',
    content: { 'application/problem+json': { schema: problemRef } },
  };
  return out;
}

function operationId(route: RouteSpec): string {
  const words = route.path
    .split('/')
    .filter(Boolean)
    .map((s) => (s.startsWith(':') ? `by-${s.slice(1)}` : s))
    .join('-');
  return `${route.method}-${words || 'root'}`.replace(/[^A-Za-z0-9]+(.)/g, (_, c: string) => c.toUpperCase());
}
