// llm: how Tandem talks to models — chat and embedding interfaces, the OpenAI-compatible client,
// and the price catalog.
//
//   auto client = MakeOpenAiClient(config, *config.FindProvider("local"));
//   Result<ChatResponse> answer = (*client)->Chat({.messages = {Message::User("Hi")}}, {});
#pragma once

#include "tandem/llm/chat_model.h"     // IWYU pragma: export
#include "tandem/llm/openai_client.h"  // IWYU pragma: export
#include "tandem/llm/price_catalog.h"  // IWYU pragma: export
#include "tandem/llm/types.h"          // IWYU pragma: export
