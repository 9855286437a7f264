// send_email: a plain-text message over SMTP (libcurl), STARTTLS required by default. Effect
// `external`: the agent asks for approval unless [tools] auto_approve lists it.
#pragma once

#include "tandem/core/secrets.h"
#include "tandem/tools/tools.h"
#include "tandem/tools/tools_config.h"

namespace tandem::tools {

std::unique_ptr<Tool> MakeSendEmailTool(const EmailToolOptions& options, const Secrets& secrets);

// The RFC 5322 message (headers, base64 UTF-8 body) send_email transmits. Exposed for tests.
std::string BuildEmailMessage(const std::string& from, const std::vector<std::string>& to,
                              const std::string& subject, const std::string& body,
                              const std::string& message_id);

}  // namespace tandem::tools
