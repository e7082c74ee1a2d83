// `buildctl mcp`: this builder served to an AI agent over the Model Context Protocol, on
// stdio. The only module that loads the MCP SDK (so no other command pays for it).
//
// The SDK's low-level `Server` is used rather than its `McpServer`: our tools' input
// schemas are JSON Schema generated from our zod/mini schemas (cli/mcp/tools.ts), and the
// arguments are checked by those same schemas, so a refusal of bad arguments is one of our
// errors ({code, message, hint}) like every other refusal. McpServer wants the schemas as
// zod objects it converts and checks itself, with its own error text.
//
// stdout carries the protocol and nothing else; warnings go to stderr.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { Guide } from '../../domain/guide.js';
import { usageError } from '../../errors.js';
import type { Context } from '../../ops/context.js';
import { resolveActor } from '../../ops/identity.js';
import { redactCredentials } from '../../redact.js';
import { VERSION } from '../../version.js';
import { errorJson, errorReport, fleetJson, messagesJson, type JsonDocument } from '../output.js';
import { builtInStoreDir, type Runtime } from '../runtime.js';
import toolSchemas from '../../../schemas/mcp_tools.json' with { type: 'json' };
import { TOOLS, type Tool } from './tools.js';

export interface McpOptions {
  allowWrites: boolean;
}

/** A tool's input schema, as `npm run schemas` generated it from the tool's zod schema. */
const inputSchemaOf = (name: string): { type: 'object'; [key: string]: unknown } => {
  const schema = (toolSchemas.tools as Record<string, { type: 'object' } | undefined>)[name];
  if (!schema) throw new Error(`schemas/mcp_tools.json has no input schema for the tool ${name}: run "npm run schemas"`);
  return schema;
};

/** A document as a tool or resource returns it: URL credentials redacted, like everything buildctl prints. */
const safeDocument = (document: JsonDocument): { text: string; value: JsonDocument } => {
  const text = redactCredentials(JSON.stringify(document));
  return { text, value: JSON.parse(text) as JsonDocument };
};

/**
 * Same as the CLI's --json error: {error: {code, message, hint, details}}. An unexpected
 * error's stack goes to stderr, which MCP clients keep as the server's log.
 */
const errorDocument = (runtime: Runtime, error: unknown, tool: string): JsonDocument => {
  const report = errorReport(error, `buildctl mcp ${tool}`) ?? { code: 'unexpected', message: String(error), hint: undefined, details: undefined, stack: undefined };
  if (report.code !== 'unexpected') return errorJson(report);
  runtime.err(`buildctl mcp: ${tool}: ${report.stack ?? report.message}`);
  return errorJson({ ...report, hint: "the stack trace is on the server's stderr (the MCP client's log of it): please report it with that output" });
};

const toolResult = (document: JsonDocument, warnings: readonly string[], isError: boolean): CallToolResult => {
  const { text, value } = safeDocument(document);
  return {
    content: [{ type: 'text', text }, ...warnings.map((line) => ({ type: 'text' as const, text: redactCredentials(line) }))],
    structuredContent: value,
    ...(isError ? { isError: true } : {}),
  };
};

const RESOURCES = [
  {
    uri: 'buildctl://fleet/status',
    name: 'fleet-status',
    title: 'Fleet status',
    description: 'Every builder\'s health, state and job, the queue, the held locks and my unread mail (as the fleet_status tool returns it).',
    read: async (ctx: Context) => fleetJson(await (await import('../../ops/status.js')).fleetStatus(ctx, { fetch: true })),
  },
  {
    uri: 'buildctl://inbox',
    name: 'inbox',
    title: 'My inbox',
    description: "This builder's unread messages, most urgent first, with their bodies (as the inbox tool returns it).",
    read: async (ctx: Context) =>
      messagesJson(await (await import('../../ops/messages.js')).listMessagesOp(ctx, { all: false, includeRead: false, sent: false, archived: false, fetch: true })),
  },
] as const;

/** What a client shows the model when it connects: who this is, what it may do, the routine. */
const instructions = (identity: { id: string } | { error: string }, store: string, allowWrites: boolean, guide: Guide | undefined): string => {
  const lines = [
    'buildctl coordinates a fleet of build servers through one shared git repository (jobs, locks, messages, status, heartbeats).',
    'id' in identity
      ? `This server acts as builder ${identity.id} on the store ${store}: every change is made as ${identity.id}, through the same checks as the buildctl CLI.`
      : `This server could not tell which builder it is (${identity.error}): tools that act as this builder fail until it is set.`,
    allowWrites
      ? 'Read and write tools are offered. Operators\' commands (lock break, builder remove, config set, migrate) are not.'
      : 'Only read tools are offered (started without --allow-writes): make changes with the buildctl commands of the checklist, or ask the operator for a server with --allow-writes.',
    'A refusal comes back as a tool error {"error": {"code", "message", "hint", "details"}}: follow the hint. Codes such as lock_held and nothing_to_claim mean "not now", not a fault.',
  ];
  if (guide) {
    lines.push('', "The session checklist (`buildctl guide` prints it with each step's command):");
    for (const section of guide.sections) {
      lines.push(`${section.title}:`);
      for (const step of section.steps) lines.push(`- ${step.title} (${step.tools.join(', ')})`);
    }
  }
  return lines.join('\n');
};

/**
 * Serves until the client closes stdin; calls still running then finish first (a
 * transaction is never cut short by a client going away).
 */
export const serveMcp = async (runtime: Runtime, baseCtx: Context, options: McpOptions): Promise<void> => {
  if (baseCtx.allowSecretLike) {
    throw usageError('buildctl mcp does not take --allow-secret-like: every value a tool commits goes through the credential check', {
      code: 'not_for_mcp',
      hint: 'commit a real false alarm from a shell instead: buildctl --allow-secret-like <command>',
    });
  }
  // One identity for the whole session, resolved once: every call acts as this builder.
  let ctx = baseCtx;
  let identity: { id: string } | { error: string };
  let guide: Guide | undefined;
  try {
    const resolved = await resolveActor(baseCtx);
    identity = { id: resolved.id };
    ctx = { ...baseCtx, asFlag: resolved.id };
    const { sessionGuide } = await import('../../ops/guide.js');
    guide = await sessionGuide(ctx, { defaultStore: builtInStoreDir() }).catch(() => undefined);
  } catch (error) {
    const report = errorReport(error, 'buildctl mcp');
    identity = { error: report?.message ?? String(error) };
    runtime.err(`buildctl: warning: ${identity.error}; ${report?.hint ?? ''}`);
  }

  const offered = new Map<string, Tool>(TOOLS.filter((t) => options.allowWrites || !t.write).map((t) => [t.name, t]));
  const server = new Server(
    { name: 'buildctl', version: VERSION },
    { capabilities: { tools: {}, resources: {} }, instructions: instructions(identity, ctx.storeDir, options.allowWrites, guide) },
  );

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [...offered.values()].map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: inputSchemaOf(t.name),
      annotations: { title: t.title, readOnlyHint: !t.write, destructiveHint: false, idempotentHint: !t.write, openWorldHint: false },
    })),
  }));

  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work)).catch(() => undefined);
    return work;
  };

  server.setRequestHandler(CallToolRequestSchema, (request) => {
    const name = request.params.name;
    const found = offered.get(name);
    if (!found) {
      const write = TOOLS.some((t) => t.name === name && t.write);
      const hint = write
        ? 'this server offers read tools only: the operator starts it with "buildctl mcp --allow-writes" to offer it'
        : `the tools are: ${[...offered.keys()].join(', ')}`;
      const message = write ? `${name} changes the store and is not offered` : `unknown tool "${name}"`;
      throw new McpError(ErrorCode.InvalidParams, `${message} (${hint})`, errorJson({ code: write ? 'read_only' : 'unknown_tool', message, hint, details: undefined }).error);
    }
    const warnings: string[] = [];
    const callCtx: Context = { ...ctx, warn: (line) => (warnings.push(line), ctx.warn(line)) };
    return track(
      found.call(callCtx, request.params.arguments).then(
        (document) => toolResult(document, warnings, false),
        (error: unknown) => toolResult(errorDocument(runtime, error, name), warnings, true),
      ),
    );
  });

  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: RESOURCES.map(({ uri, name, title, description }) => ({ uri, name, title, description, mimeType: 'application/json' })),
  }));

  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    const resource = RESOURCES.find((r) => r.uri === request.params.uri);
    // -32002: the protocol's "resource not found".
    if (!resource) throw new McpError(-32002, `unknown resource ${request.params.uri}`, { uri: request.params.uri, resources: RESOURCES.map((r) => r.uri) });
    try {
      const { text } = safeDocument(await track(resource.read(ctx)));
      return { contents: [{ uri: resource.uri, mimeType: 'application/json', text }] };
    } catch (error) {
      const document = errorDocument(runtime, error, resource.name);
      const report = document.error as { message: string; hint: string | null };
      throw new McpError(ErrorCode.InternalError, `${report.message}${report.hint ? ` (${report.hint})` : ''}`, document.error);
    }
  });

  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
  });
  const transport = new StdioServerTransport();
  await server.connect(transport);
  // The client went away (stdin ended): finish what runs and send its answers, then close.
  await new Promise<void>((resolve) => process.stdin.once('end', resolve).once('close', resolve));
  while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  // The SDK sends an answer a few promise steps after its handler settles: let them run.
  await new Promise((resolve) => setImmediate(resolve));
  await server.close();
  await closed;
};
