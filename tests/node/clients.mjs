// The Node clients against the gateway's unified API: node clients.mjs BASE_URL KEY MODEL.
// Prints one JSON object of what each client saw; the Python test asserts on it.
import OpenAI from "openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";

const [baseURL, apiKey, model] = process.argv.slice(2);
const out = {};
const weather = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

const openai = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const plain = await openai.chat.completions.create({
  model, messages: [{ role: "user", content: "Hi" }],
});
out.openai_plain = { text: plain.choices[0].message.content, usage: plain.usage };

let streamed = "";
let usage = null;
const stream = await openai.chat.completions.create({
  model, stream: true, stream_options: { include_usage: true },
  messages: [{ role: "user", content: "Hi" }],
});
for await (const chunk of stream) {
  streamed += chunk.choices[0]?.delta?.content ?? "";
  if (chunk.usage) usage = chunk.usage;
}
out.openai_stream = { text: streamed, usage };

const ask = [{ role: "user", content: "What is the weather in Paris and Rome?" }];
const first = await openai.chat.completions.create({ model, tools: [weather], messages: ask });
const calls = first.choices[0].message.tool_calls ?? [];
const second = await openai.chat.completions.create({
  model, tools: [weather],
  messages: [...ask, first.choices[0].message,
    ...calls.map((c) => ({ role: "tool", tool_call_id: c.id, content: "18C" }))],
});
out.openai_tools = {
  finish: first.choices[0].finish_reason,
  calls: calls.map((c) => JSON.parse(c.function.arguments)),
  then: second.choices[0].finish_reason,
};

const provider = createOpenAICompatible({ name: "gateway", baseURL, apiKey, includeUsage: true });
const gen = await generateText({ model: provider(model), prompt: "Hi", maxRetries: 0 });
out.ai_generate = { text: gen.text, usage: gen.usage };
const st = streamText({ model: provider(model), prompt: "Hi", maxRetries: 0 });
let aiText = "";
for await (const piece of st.textStream) aiText += piece;
out.ai_stream = { text: aiText, usage: await st.usage };
const seen = [];
const agent = await generateText({
  model: provider(model), maxRetries: 0, stopWhen: stepCountIs(3),
  prompt: "What is the weather in Paris and Rome?",
  tools: {
    get_weather: tool({
      description: "The weather in a city.",
      inputSchema: jsonSchema({
        type: "object", properties: { city: { type: "string" } }, required: ["city"],
      }),
      execute: async ({ city }) => { seen.push(city); return `18C in ${city}`; },
    }),
  },
});
out.ai_tools = { steps: agent.steps.length, cities: seen, text: agent.text,
  finish: agent.finishReason };
console.log(JSON.stringify(out));
