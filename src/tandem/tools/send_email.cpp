#include "tandem/tools/send_email.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <ctime>

#include "tandem/core/id.h"
#include "tandem/tools/basic_tool.h"

namespace tandem::tools {
namespace {

using nlohmann::json;

std::string Base64(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    for (int shift : {18, 12, 6, 0})
      out += kAlphabet[(n >> shift) & 63];
  }
  if (i < data.size()) {
    uint32_t n = static_cast<uint8_t>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<uint8_t>(data[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < data.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool IsAscii(std::string_view text) {
  for (unsigned char c : text) {
    if (c >= 0x80) return false;
  }
  return true;
}

// Plausible addr-spec without anything that could inject SMTP commands or headers.
Status CheckAddress(const std::string& address, std::string_view what) {
  size_t at = address.rfind('@');
  bool ok = address.size() <= 254 && at != std::string::npos && at > 0 && at + 1 < address.size();
  for (unsigned char c : address) {
    if (c <= 0x20 || c >= 0x7F || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' ||
        c == '(' || c == ')' || c == '\\') {
      ok = false;
    }
  }
  if (!ok) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: '{}' is not a valid email address", what,
                     address);
  }
  return {};
}

std::string Lower(std::string text) {
  for (char& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

class SendEmailTool : public BasicTool {
 public:
  SendEmailTool(EmailToolOptions options, Secrets secrets)
      : BasicTool("send_email",
                  "Send a plain-text email. This acts outside the workspace and needs approval.",
                  ObjectSchema({{"to",
                                 {{"type", {"string", "array"}},
                                  {"items", {{"type", "string"}, {"maxLength", 254}}},
                                  {"maxItems", 20},
                                  {"maxLength", 2000}}},
                                {"subject", {{"type", "string"}, {"maxLength", 900}}},
                                {"body", {{"type", "string"}, {"maxLength", 1000000}}}},
                               {"to", "subject", "body"}),
                  EffectClass::kExternal),
        options_(std::move(options)),
        secrets_(std::move(secrets)) {}

  Result<ToolResult> Invoke(const json& args, ToolContext& context) const override {
    if (options_.smtp_url.empty()) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "email is not configured: set [tools.email] smtp_url and from");
    }
    std::vector<std::string> to;
    if (args["to"].is_string()) {
      std::string list = args["to"].get<std::string>();
      for (size_t start = 0; start <= list.size();) {
        size_t comma = std::min(list.find(',', start), list.size());
        std::string one = list.substr(start, comma - start);
        one.erase(0, one.find_first_not_of(' '));
        one.erase(one.find_last_not_of(' ') + 1);
        if (!one.empty()) to.push_back(one);
        start = comma + 1;
      }
    } else {
      for (const json& item : args["to"])
        to.push_back(item.get<std::string>());
    }
    if (to.empty()) return MakeError(ErrorCode::kInvalidArgument, "argument 'to' is empty");
    for (const std::string& address : to) {
      if (Status ok = CheckAddress(address, "argument 'to'"); !ok)
        return std::unexpected(ok.error());
      if (Status ok = CheckDomain(address); !ok) return std::unexpected(ok.error());
    }
    const std::string& subject = args["subject"].get_ref<const std::string&>();
    if (subject.find_first_of("\r\n") != std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument, "argument 'subject' must be one line");
    }
    std::string message_id = fmt::format("<{}@tandem>", NewId());
    std::string message =
        BuildEmailMessage(options_.from, to, subject, args["body"].get<std::string>(), message_id);
    if (Status sent = Send(to, message, context); !sent) return std::unexpected(sent.error());
    ToolResult result;
    result.output = fmt::format("sent to {} (Message-ID {})", fmt::join(to, ", "), message_id);
    result.data = {{"message_id", message_id}, {"to", to}};
    return result;
  }

 private:
  Status CheckDomain(const std::string& address) const {
    if (options_.allow_domains.empty()) return {};
    std::string domain = Lower(address.substr(address.rfind('@') + 1));
    for (const std::string& allowed : options_.allow_domains) {
      if (Lower(allowed) == domain) return {};
    }
    return MakeError(ErrorCode::kPermissionDenied,
                     "recipient domain '{}' is not in [tools.email] allow_domains", domain);
  }

  struct Upload {
    std::string_view data;
  };
  static size_t OnRead(char* buffer, size_t size, size_t count, void* user) {
    auto* upload = static_cast<Upload*>(user);
    size_t n = std::min(size * count, upload->data.size());
    std::memcpy(buffer, upload->data.data(), n);
    upload->data.remove_prefix(n);
    return n;
  }

  Status Send(const std::vector<std::string>& to, const std::string& message,
              const ToolContext& context) const {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return MakeError(ErrorCode::kInternal, "curl_easy_init failed");
    CURL* c = curl.get();
    curl_slist* recipients = nullptr;
    for (const std::string& address : to) {
      recipients = curl_slist_append(recipients, ("<" + address + ">").c_str());
    }
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> owned(recipients,
                                                                      curl_slist_free_all);
    std::string from = "<" + options_.from + ">";
    Upload upload{message};
    curl_easy_setopt(c, CURLOPT_URL, options_.smtp_url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(c, CURLOPT_READDATA, &upload);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(
        c, CURLOPT_TIMEOUT_MS,
        static_cast<long>(std::min(options_.timeout_s, context.limits.timeout_s) * 1000));
    long tls = options_.tls == "required" ? CURLUSESSL_ALL
               : options_.tls == "try"    ? CURLUSESSL_TRY
                                          : CURLUSESSL_NONE;
    curl_easy_setopt(c, CURLOPT_USE_SSL, tls);
    std::string user, password;
    if (!options_.username_env.empty()) {
      user = secrets_.Get(options_.username_env).value_or("");
      password = secrets_.Get(options_.password_env).value_or("");
      if (user.empty()) {
        return MakeError(ErrorCode::kUnauthenticated, "SMTP user variable {} is not set",
                         options_.username_env);
      }
      curl_easy_setopt(c, CURLOPT_USERNAME, user.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, password.c_str());
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) return {};
    if (rc == CURLE_USE_SSL_FAILED) {
      return MakeError(ErrorCode::kPermissionDenied,
                       "the SMTP server does not offer STARTTLS and [tools.email] tls = \"{}\" "
                       "requires it",
                       options_.tls);
    }
    if (rc == CURLE_LOGIN_DENIED) {
      return MakeError(ErrorCode::kUnauthenticated, "SMTP login refused");
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return MakeError(ErrorCode::kDeadlineExceeded, "SMTP: {}", curl_easy_strerror(rc));
    }
    return MakeError(ErrorCode::kUnavailable, "SMTP: {}", curl_easy_strerror(rc));
  }

  EmailToolOptions options_;
  Secrets secrets_;
};

}  // namespace

std::string BuildEmailMessage(const std::string& from, const std::vector<std::string>& to,
                              const std::string& subject, const std::string& body,
                              const std::string& message_id) {
  char date[64];
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &utc);
  std::string encoded_subject =
      IsAscii(subject) ? subject : fmt::format("=?UTF-8?B?{}?=", Base64(subject));
  std::string encoded_body = Base64(body);
  std::string wrapped;
  for (size_t i = 0; i < encoded_body.size(); i += 76) {
    wrapped += encoded_body.substr(i, 76) + "\r\n";
  }
  return fmt::format(
      "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: {}\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
      from, fmt::join(to, ", "), encoded_subject, date, message_id, wrapped);
}

std::unique_ptr<Tool> MakeSendEmailTool(const EmailToolOptions& options, const Secrets& secrets) {
  return std::make_unique<SendEmailTool>(options, secrets);
}

}  // namespace tandem::tools
