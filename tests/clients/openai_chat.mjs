// Drive `cordon serve` with the official OpenAI Node client (pinned in
// tools/package.json, installed into .tools/node by `cargo xtask`).
//
// Usage: node openai_chat.mjs <node_modules> BASE_URL MODEL stream|tools|json|disconnect
// Prints one JSON line with what the client saw.
//
// - stream: `chat.completions.stream()` with `stream_options.include_usage`,
//   read chunk by chunk, then its final completion (the helper throws on a
//   grammar error such as a choice without `finish_reason`); a whole answer;
//   and the error class an unknown model raises.
// - tools: `chat.completions.runTools()` streams the first answer, runs the
//   requested `calculator__evaluate` here, sends the result back as a `tool`
//   message and streams the second answer.
// - json: `chat.completions.parse()` with a `json_schema` response format.
// - disconnect: read three chunks of a stream, then `break` (the client
//   aborts the request).
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, baseURL, model, mode] = process.argv.slice(2);
const { default: OpenAI } = await import(pathToFileURL(join(resolve(modules), "openai/index.mjs")).href);
const client = new OpenAI({ baseURL, apiKey: "not-checked-yet", maxRetries: 0 });
const question = [{ role: "user", content: "Split the bill of 187.40 plus 15% tip three ways" }];

async function stream() {
  const stream = client.chat.completions.stream({
    model,
    messages: question,
    stream_options: { include_usage: true },
  });
  let text = "";
  let chunks = 0;
  let usage = null;
  const ids = new Set();
  for await (const chunk of stream) {
    chunks += 1;
    ids.add(chunk.id);
    if (chunk.usage) usage = chunk.usage.total_tokens;
    for (const choice of chunk.choices) text += choice.delta.content ?? "";
  }
  const final = await stream.finalChatCompletion();
  const message = final.choices[0].message;
  const whole = await client.chat.completions.create({ model, messages: question });
  let missing = null;
  try {
    await client.chat.completions.create({ model: "no-such-model", messages: question });
  } catch (error) {
    missing = { class: error.constructor.name, status: error.status, code: error.code, isNotFound: error instanceof OpenAI.NotFoundError };
  }
  return {
    stream: {
      text,
      chunks,
      ids: ids.size,
      usage,
      finalText: message.content,
      calls: (message.tool_calls ?? []).map((c) => ({ name: c.function.name, arguments: c.function.arguments })),
      finish: final.choices[0].finish_reason,
    },
    whole: {
      text: whole.choices[0].message.content,
      calls: (whole.choices[0].message.tool_calls ?? []).map((c) => c.function.name),
      finish: whole.choices[0].finish_reason,
    },
    missing,
  };
}

async function tools() {
  const ran = [];
  const runner = client.chat.completions.runTools({
    model,
    stream: true,
    messages: question,
    tools: [
      {
        type: "function",
        function: {
          name: "calculator__evaluate",
          description: "Evaluate an arithmetic expression",
          parameters: { type: "object", properties: { expression: { type: "string" } }, required: ["expression"] },
          parse: JSON.parse,
          function: ({ expression }) => {
            if (!/^[0-9.+\-*/() ]+$/.test(expression)) throw new Error(`not arithmetic: ${expression}`);
            const result = Function(`"use strict"; return (${expression});`)().toFixed(2);
            ran.push({ expression, result });
            return result;
          },
        },
      },
    ],
  });
  const finalContent = await runner.finalContent();
  const messages = runner.messages.map((m) => ({ role: m.role, tool_call_id: m.tool_call_id ?? null, calls: (m.tool_calls ?? []).length }));
  return { ran, finalContent, messages };
}

async function json() {
  const completion = await client.chat.completions.parse({
    model,
    messages: [{ role: "user", content: "The largest city of Norway, as JSON" }],
    response_format: {
      type: "json_schema",
      json_schema: {
        name: "City",
        strict: true,
        schema: {
          type: "object",
          properties: { city: { type: "string" }, country: { type: "string" }, population: { type: "integer" } },
          required: ["city", "country", "population"],
          additionalProperties: false,
        },
      },
    },
  });
  const message = completion.choices[0].message;
  return { parsed: message.parsed, content: message.content, finish: completion.choices[0].finish_reason };
}

async function disconnect() {
  const stream = await client.chat.completions.create({ model, messages: question, stream: true });
  let received = "";
  let chunks = 0;
  for await (const chunk of stream) {
    received += chunk.choices[0]?.delta?.content ?? "";
    chunks += 1;
    if (chunks === 3) break;
  }
  return { chunks, received };
}

const modes = { stream, tools, json, disconnect };
if (!modes[mode]) {
  console.error(`unknown mode ${mode}: stream, tools, json or disconnect`);
  process.exit(2);
}
console.log(JSON.stringify(await modes[mode]()));
