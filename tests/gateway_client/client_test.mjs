// Drives `tandem serve`'s OpenAI-compatible gateway with the official `openai` client.
// Usage: TANDEM_URL=http://127.0.0.1:PORT/v1 TANDEM_TOKEN=tdm_... node client_test.mjs
// The model endpoints behind the server are scripted by the calling test
// (tests/server/gateway_client_test.cpp), which queues the answers checked below.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: process.env.TANDEM_URL,
  apiKey: process.env.TANDEM_TOKEN,
  maxRetries: 0,
  timeout: 30_000,
});

async function check(name, body) {
  try {
    await body();
    console.log(`ok ${name}`);
  } catch (error) {
    console.log(`FAILED ${name}: ${error.stack ?? error}`);
    process.exitCode = 1;
  }
}

await check('models lists route profiles and provider models', async () => {
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  for (const id of ['auto', 'private', 'local', 'local-model', 'cloud', 'gpt-4o-mini']) {
    assert.ok(ids.includes(id), `missing ${id} in ${ids}`);
  }
});

await check('chat completion (not streamed) goes to the cloud for generic text', async () => {
  const completion = await client.chat.completions.create({
    model: 'auto',
    messages: [{ role: 'user', content: 'Say hello' }],
  });
  assert.equal(completion.choices[0].message.content, 'Hello from the cloud model');
  assert.equal(completion.choices[0].finish_reason, 'stop');
  assert.equal(completion.usage.total_tokens, 15);
  assert.equal(completion.tandem.zone, 'cloud');
});

await check('chat completion streamed in chunks', async () => {
  const stream = await client.chat.completions.create({
    model: 'auto',
    messages: [{ role: 'user', content: 'Count to three' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let chunks = 0;
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    chunks += 1;
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    text += choice.delta?.content ?? '';
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  assert.equal(text, 'one two three');
  assert.ok(chunks >= 4, `only ${chunks} chunks`);
  assert.equal(finish, 'stop');
  assert.equal(usage?.total_tokens, 15);
});

await check('sensitive text stays local', async () => {
  const completion = await client.chat.completions.create({
    model: 'auto',
    messages: [{ role: 'user', content: 'My SSN is 123-45-6789; fill in the form' }],
  });
  assert.equal(completion.choices[0].message.content, 'Handled on this machine');
  assert.equal(completion.tandem.zone, 'local');
});

await check('sensitive text for a cloud model is refused with a clear error', async () => {
  await assert.rejects(
    client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'My SSN is 123-45-6789; fill in the form' }],
    }),
    (error) => {
      assert.ok(error instanceof OpenAI.PermissionDeniedError, `got ${error}`);
      assert.equal(error.status, 403);
      assert.equal(error.code, 'refused_by_policy');
      assert.match(error.message, /refused by routing policy/);
      assert.doesNotMatch(error.message, /123-45-6789/);
      return true;
    });
});

await check('tool calls pass through', async () => {
  const completion = await client.chat.completions.create({
    model: 'private',
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
    tools: [{
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Weather of a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
      },
    }],
  });
  const calls = completion.choices[0].message.tool_calls;
  assert.equal(calls.length, 1);
  assert.equal(calls[0].function.name, 'get_weather');
  assert.deepEqual(JSON.parse(calls[0].function.arguments), { city: 'Paris' });
  assert.equal(completion.choices[0].finish_reason, 'tool_calls');
});

await check('embeddings (the client asks for base64 and decodes it)', async () => {
  const result = await client.embeddings.create({ model: 'auto', input: ['hello', 'world!'] });
  assert.equal(result.data.length, 2);
  // The scripted endpoint embeds a text as [bytes, first byte, 1].
  assert.deepEqual(Array.from(result.data[0].embedding), [5, 104, 1]);
  assert.deepEqual(Array.from(result.data[1].embedding), [6, 119, 1]);
  const local = await client.embeddings.create({
    model: 'auto', input: 'mail bob@example.com', encoding_format: 'float',
  });
  assert.deepEqual(local.data[0].embedding, [20, 109, 1]);
  assert.equal(local.model, 'local-embed');
});

await check('an unknown model is a 404 naming the field', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    (error) => {
      assert.ok(error instanceof OpenAI.NotFoundError, `got ${error}`);
      assert.equal(error.param, 'model');
      return true;
    });
});

await check('a bad token is an authentication error', async () => {
  const stranger = new OpenAI({ baseURL: process.env.TANDEM_URL, apiKey: 'tdm_wrong', maxRetries: 0 });
  await assert.rejects(stranger.models.list(), OpenAI.AuthenticationError);
});
