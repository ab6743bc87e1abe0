// Typed routes: one declaration gives the Express handler (request parts validated, types
// inferred from the schemas) and the OpenAPI entry. A handler returns `{status, body}` to answer
// JSON, or nothing when it wrote the response itself (streams, SSE, redirects).
import type { HttpMethod, ResponseSpec, RouteSpec } from '@mmit/contracts';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { parsePart } from './validate.js';

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

type ParamsSchema = z.ZodObject | undefined;
type BodySchema = z.ZodType | undefined;

export interface RouteRequest<P extends ParamsSchema, Q extends ParamsSchema, B extends BodySchema> {
  params?: P;
  query?: Q;
  body?: B;
  bodyContentType?: string;
}

export interface HandlerInput<P extends ParamsSchema, Q extends ParamsSchema, B extends BodySchema> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
  req: Request;
  res: Response;
}

export type HandlerResult = { status?: number; body?: unknown; headers?: Record<string, string> } | undefined;

export interface TypedRoute<
  P extends ParamsSchema = undefined,
  Q extends ParamsSchema = undefined,
  B extends BodySchema = undefined,
> {
  method: HttpMethod;
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  request?: RouteRequest<P, Q, B>;
  responses: Record<number, ResponseSpec>;
  secured?: boolean;
  handler: (input: HandlerInput<P, Q, B>) => Promise<HandlerResult> | HandlerResult;
}

/** The Express handler for a typed route. */
export function routeHandler<P extends ParamsSchema, Q extends ParamsSchema, B extends BodySchema>(
  route: TypedRoute<P, Q, B>,
): RequestHandler {
  const { params, query, body, bodyContentType } = route.request ?? {};
  // Multipart bodies are read by the handler from the stream, not validated as JSON here.
  const jsonBody = body && (!bodyContentType || bodyContentType === 'application/json') ? body : undefined;
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const input = {
        params: params ? parsePart(req, 'params', params) : undefined,
        query: query ? parsePart(req, 'query', query) : undefined,
        body: jsonBody ? parsePart(req, 'body', jsonBody) : undefined,
        req,
        res,
      } as HandlerInput<P, Q, B>;
      req.valid = { params: input.params, query: input.query, body: input.body };
      const result = await route.handler(input);
      if (!result || res.headersSent) return;
      for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
      res.status(result.status ?? 200);
      if (result.body === undefined) res.end();
      else res.json(result.body);
    } catch (err) {
      next(err);
    }
  };
}

/** The OpenAPI part of a typed route. */
export function routeSpec<P extends ParamsSchema, Q extends ParamsSchema, B extends BodySchema>(
  route: TypedRoute<P, Q, B>,
): RouteSpec {
  const { handler: _, request, ...rest } = route;
  return {
    ...rest,
    ...(request
      ? {
          request: {
            params: request.params,
            query: request.query,
            body: request.body,
            bodyContentType: request.bodyContentType,
          },
        }
      : {}),
  };
}
