// Runs the official TypeScript client (@anthropic-ai/foundry-sdk) against a Foundry endpoint,
// normally the claude-foundry emulator, and prints one JSON document with a result per case.
//
//   ANTHROPIC_FOUNDRY_BASE_URL=http://127.0.0.1:8011/anthropic/ \
//   ANTHROPIC_FOUNDRY_API_KEY=emulator-key node conformance.mjs [case ...]
//
// Without case names every key-authenticated case runs. The `entra` case needs an emulator in
// Entra ID mode; its azureADTokenProvider returns ANTHROPIC_FOUNDRY_TOKEN when that is set, else
// it mints a fresh token per call from the emulator's control API (POST /_emulator/entra/token).
// Faults are injected through the control API (POST /_emulator/faults), so the cases that need
// them only make sense against the emulator. Every prompt names its case, so a caller can find
// a case's requests in the emulator's journal. Exit status: 0 when every case passed, 1 if not.

import AnthropicFoundry from '@anthropic-ai/foundry-sdk';
import * as core from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const DEPLOYMENT = process.env.CONFORMANCE_DEPLOYMENT || 'claude-sonnet-4-6';
const BASE_URL = process.env.ANTHROPIC_FOUNDRY_BASE_URL;
const API_KEY = process.env.ANTHROPIC_FOUNDRY_API_KEY;
const TOKEN = process.env.ANTHROPIC_FOUNDRY_TOKEN;
const ENTRA_PRINCIPAL = process.env.CONFORMANCE_ENTRA_PRINCIPAL || undefined;

const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Current weather for a city.',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 } },
    required: ['city', 'days'],
  },
};

function prompt(name) {
  return [{ role: 'user', content: `Hello from the ${name} case` }];
}

function controlUrl(path) {
  return new URL(path, new URL(BASE_URL).origin).toString();
}

async function control(method, path, body) {
  const response = await fetch(controlUrl(path), {
    method,
    headers: { 'content-type': 'application/json', ...(API_KEY ? { 'api-key': API_KEY } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

async function addFault(fault) {
  return control('POST', '/_emulator/faults', fault);
}

function keyClient(options = {}) {
  return new AnthropicFoundry({ apiKey: API_KEY, baseURL: BASE_URL, ...options });
}

function errorSummary(error) {
  return {
    class: error?.constructor?.name ?? typeof error,
    status: error?.status ?? null,
    type: error?.type ?? null,
    requestID: error?.requestID ?? null,
    apimRequestId: error?.headers?.get?.('apim-request-id') ?? null,
    retryAfter: error?.headers?.get?.('retry-after') ?? null,
    message: String(error?.message ?? error),
  };
}

async function expectError(call) {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

const CASES = {
  async create() {
    const client = keyClient();
    const { data: message, response, request_id } = await client.messages
      .create({ model: DEPLOYMENT, max_tokens: 64, messages: prompt('create') })
      .withResponse();
    assert.equal(message.type, 'message');
    assert.equal(message.role, 'assistant');
    assert.equal(message.content[0].type, 'text');
    assert.equal(message.stop_reason, 'end_turn');
    assert.ok(message.usage.input_tokens > 0 && message.usage.output_tokens > 0);
    assert.equal(message._request_id, request_id);
    return {
      id: message.id,
      model: message.model,
      text: message.content[0].text,
      stopReason: message.stop_reason,
      usage: message.usage,
      requestId: request_id,
      messageRequestId: message._request_id,
      apimRequestId: response.headers.get('apim-request-id'),
      region: response.headers.get('x-ms-region'),
    };
  },

  async stream() {
    const client = keyClient();
    const stream = client.messages.stream({
      model: DEPLOYMENT,
      max_tokens: 64,
      messages: prompt('stream'),
    });
    const deltas = [];
    const eventTypes = [];
    stream.on('text', (delta) => deltas.push(delta));
    stream.on('streamEvent', (event) => eventTypes.push(event.type));
    const { response, request_id } = await stream.withResponse();
    const message = await stream.finalMessage();
    const finalText = await stream.finalText();
    assert.equal(deltas.join(''), finalText);
    assert.equal(message.content[0].text, finalText);
    assert.ok(deltas.length > 1, 'the text should arrive in several deltas');
    return {
      text: finalText,
      deltas: deltas.length,
      eventTypes,
      stopReason: message.stop_reason,
      usage: message.usage,
      requestId: request_id,
      streamRequestId: stream.request_id,
      apimRequestId: response.headers.get('apim-request-id'),
      contentType: response.headers.get('content-type'),
    };
  },

  async raw_stream() {
    const client = keyClient();
    const { data: stream, request_id } = await client.messages
      .create({ model: DEPLOYMENT, max_tokens: 64, messages: prompt('raw_stream'), stream: true })
      .withResponse();
    const eventTypes = [];
    let text = '';
    let stopReason = null;
    let outputTokens = null;
    for await (const event of stream) {
      eventTypes.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
        text += event.delta.text;
      } else if (event.type === 'message_delta') {
        stopReason = event.delta.stop_reason;
        outputTokens = event.usage.output_tokens;
      }
    }
    assert.equal(eventTypes[0], 'message_start');
    assert.equal(eventTypes.at(-1), 'message_stop');
    return { text, eventTypes, stopReason, outputTokens, requestId: request_id };
  },

  async count_tokens() {
    const client = keyClient();
    const messages = prompt('count_tokens');
    const counted = await client.messages.countTokens({ model: DEPLOYMENT, messages });
    const created = await client.messages.create({ model: DEPLOYMENT, max_tokens: 16, messages });
    assert.equal(counted.input_tokens, created.usage.input_tokens);
    return { inputTokens: counted.input_tokens, usageInputTokens: created.usage.input_tokens };
  },

  async tool_use() {
    const client = keyClient();
    const messages = [{ role: 'user', content: 'What is the weather in Oslo? (the tool_use case)' }];
    const first = await client.messages.create({
      model: DEPLOYMENT,
      max_tokens: 512,
      messages,
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'tool', name: 'get_weather' },
    });
    assert.equal(first.stop_reason, 'tool_use');
    const call = first.content.find((block) => block.type === 'tool_use');
    assert.ok(call, 'a tool_use block');
    messages.push(
      { role: 'assistant', content: first.content },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: call.id, content: 'Snow, -3 C' }],
      },
    );
    const second = await client.messages.create({
      model: DEPLOYMENT,
      max_tokens: 512,
      messages,
      tools: [WEATHER_TOOL],
    });
    assert.equal(second.stop_reason, 'end_turn');
    return {
      stopReason: first.stop_reason,
      toolName: call.name,
      toolId: call.id,
      toolInput: call.input,
      followUpText: second.content[0].text,
      followUpStopReason: second.stop_reason,
    };
  },

  async errors() {
    const client = keyClient({ maxRetries: 0 });
    const results = {};
    results.unknown_deployment = errorSummary(
      await expectError(() =>
        client.messages.create({
          model: 'no-such-deployment',
          max_tokens: 16,
          messages: prompt('errors'),
        }),
      ),
    );
    const wrongKey = new AnthropicFoundry({
      apiKey: 'not-the-key',
      baseURL: BASE_URL,
      maxRetries: 0,
    });
    results.wrong_key = errorSummary(
      await expectError(() =>
        wrongKey.messages.create({ model: DEPLOYMENT, max_tokens: 16, messages: prompt('errors') }),
      ),
    );
    for (const status of [400, 403, 413, 429, 500, 503, 529]) {
      await addFault({ kind: 'status', status, count: 1 });
      results[String(status)] = errorSummary(
        await expectError(() =>
          client.messages.create({ model: DEPLOYMENT, max_tokens: 16, messages: prompt('errors') }),
        ),
      );
    }
    assert.ok(results.unknown_deployment.class === 'NotFoundError');
    assert.ok(results.wrong_key.class === 'AuthenticationError');
    return results;
  },

  async retry() {
    const client = keyClient({ maxRetries: 2 });
    await addFault({ kind: 'status', status: 529, count: 2, retry_after: 0.05 });
    const { data: message, request_id } = await client.messages
      .create({ model: DEPLOYMENT, max_tokens: 16, messages: prompt('retry') })
      .withResponse();
    await addFault({ kind: 'status', status: 529, count: null, retry_after: 0.05 });
    let exhausted;
    try {
      exhausted = errorSummary(
        await expectError(() =>
          client.messages.create({ model: DEPLOYMENT, max_tokens: 16, messages: prompt('retry') }),
        ),
      );
    } finally {
      await control('DELETE', '/_emulator/faults');
    }
    return { text: message.content[0].text, requestId: request_id, exhausted };
  },

  async stream_retry() {
    const client = keyClient({ maxRetries: 2 });
    await addFault({ kind: 'status', status: 529, count: 1, retry_after_ms: 20 });
    const stream = client.messages.stream({
      model: DEPLOYMENT,
      max_tokens: 64,
      messages: prompt('stream_retry'),
    });
    return { text: await stream.finalText() };
  },

  async stream_error() {
    const client = keyClient({ maxRetries: 2 });
    await addFault({ kind: 'stream_error', after_events: 5, count: 1 });
    const deltas = [];
    const stream = client.messages.stream({
      model: DEPLOYMENT,
      max_tokens: 256,
      messages: prompt('stream_error'),
    });
    stream.on('text', (delta) => deltas.push(delta));
    const error = await expectError(() => stream.finalMessage());
    const summary = errorSummary(error);
    assert.ok(error instanceof core.APIError, `an APIError, got ${summary.class}`);
    return {
      ...summary,
      errorBody: error.error ?? null,
      streamRequestId: stream.request_id,
      deltasBeforeError: deltas.length,
    };
  },

  async entra() {
    let providerCalls = 0;
    const azureADTokenProvider = async () => {
      providerCalls += 1;
      if (TOKEN) return TOKEN;
      const minted = await control('POST', '/_emulator/entra/token', {
        scope: 'https://ai.azure.com/.default',
        ...(ENTRA_PRINCIPAL ? { principal: ENTRA_PRINCIPAL } : {}),
      });
      return minted.access_token;
    };
    // `apiKey: null`: otherwise ANTHROPIC_FOUNDRY_API_KEY from the environment is read, and a key
    // next to a token provider is refused as mutually exclusive.
    const client = new AnthropicFoundry({
      azureADTokenProvider,
      apiKey: null,
      baseURL: BASE_URL,
      maxRetries: 2,
    });
    await addFault({ kind: 'status', status: 529, count: 1, retry_after_ms: 20 });
    const { data: message, request_id } = await client.messages
      .create({ model: DEPLOYMENT, max_tokens: 32, messages: prompt('entra') })
      .withResponse();
    const callsForCreate = providerCalls;
    const stream = client.messages.stream({
      model: DEPLOYMENT,
      max_tokens: 32,
      messages: prompt('entra'),
    });
    const streamedText = await stream.finalText();
    const bad = new AnthropicFoundry({
      azureADTokenProvider: async () => 'not-a-jwt',
      apiKey: null,
      baseURL: BASE_URL,
      maxRetries: 0,
    });
    const badToken = errorSummary(
      await expectError(() =>
        bad.messages.create({ model: DEPLOYMENT, max_tokens: 16, messages: prompt('entra') }),
      ),
    );
    const failing = new AnthropicFoundry({
      azureADTokenProvider: async () => {
        throw new Error('no credential available');
      },
      apiKey: null,
      baseURL: BASE_URL,
      maxRetries: 0,
    });
    const providerFailure = errorSummary(
      await expectError(() =>
        failing.messages.create({ model: DEPLOYMENT, max_tokens: 16, messages: prompt('entra') }),
      ),
    );
    return {
      text: message.content[0].text,
      streamedText,
      requestId: request_id,
      providerCallsForCreate: callsForCreate,
      providerCalls,
      badToken,
      providerFailure,
    };
  },
};

const KEY_CASES = Object.keys(CASES).filter((name) => name !== 'entra');

async function main() {
  const requested = process.argv.slice(2);
  const names = requested.length ? requested : KEY_CASES;
  const unknown = names.filter((name) => !(name in CASES));
  if (unknown.length) {
    console.error(`unknown case(s): ${unknown.join(', ')}; known: ${Object.keys(CASES).join(', ')}`);
    process.exit(2);
  }
  if (!BASE_URL || (!API_KEY && !names.every((name) => name === 'entra'))) {
    console.error('set ANTHROPIC_FOUNDRY_BASE_URL and ANTHROPIC_FOUNDRY_API_KEY');
    process.exit(2);
  }
  const results = {};
  for (const name of names) {
    try {
      results[name] = { ok: true, ...(await CASES[name]()) };
    } catch (error) {
      results[name] = { ok: false, error: errorSummary(error), stack: error?.stack ?? null };
    }
  }
  const report = {
    node: process.version,
    sdk: {
      foundry: installedVersion('@anthropic-ai/foundry-sdk'),
      core: installedVersion('@anthropic-ai/sdk'),
    },
    results,
  };
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  process.exitCode = Object.values(results).every((result) => result.ok) ? 0 : 1;
}

function installedVersion(name) {
  const path = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(path, 'utf8')).version;
}

await main();
