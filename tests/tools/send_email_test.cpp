// send_email against a real SMTP server (aiosmtpd from python3-aiosmtpd, installed by
// scripts/setup) started on loopback by the test.
#include "tandem/tools/send_email.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/free_port.h"
#include "support/temp_dir.h"
#include "tandem/tools/tools_config.h"

namespace tandem::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool CanConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return ok;
}

class SendEmailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access("/usr/bin/python3", X_OK), 0);
    mailbox_ = dir_.path() / "mail";
    port_ = testing::FreeLoopbackPort();
    std::string listen = "127.0.0.1:" + std::to_string(port_);
    server_ = fork();
    ASSERT_GE(server_, 0);
    if (server_ == 0) {
      execl("/usr/bin/python3", "python3", "-m", "aiosmtpd", "-n", "-l", listen.c_str(), "-c",
            "aiosmtpd.handlers.Mailbox", mailbox_.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200 && !CanConnect(port_); ++i) {
      int status = 0;
      ASSERT_EQ(waitpid(server_, &status, WNOHANG), 0)
          << "aiosmtpd exited; is python3-aiosmtpd installed (scripts/setup)?";
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(CanConnect(port_)) << "aiosmtpd did not start";
    options_.smtp_url = "smtp://127.0.0.1:" + std::to_string(port_);
    options_.from = "agent@tandem.test";
    options_.tls = "none";
  }
  void TearDown() override {
    if (server_ > 0) {
      kill(server_, SIGTERM);
      waitpid(server_, nullptr, 0);
    }
  }
  Result<ToolResult> Send(const json& args) {
    auto tool = MakeSendEmailTool(options_, Secrets{});
    if (Status ok = ValidateArguments(tool->schema(), args); !ok)
      return std::unexpected(ok.error());
    return tool->Invoke(args, context_);
  }
  std::vector<std::string> Delivered() {
    std::vector<std::string> messages;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(mailbox_ / "new", error)) {
      messages.push_back(testing::ReadFile(entry.path()));
    }
    return messages;
  }

  testing::TempDir dir_;
  fs::path mailbox_;
  int port_ = 0;
  pid_t server_ = -1;
  EmailToolOptions options_;
  ToolContext context_;
};

TEST_F(SendEmailTest, DeliversToTheSmtpServer) {
  auto result = Send({{"to", "someone@example.com"},
                      {"subject", "R\xC3\xA9sum\xC3\xA9"},
                      {"body", "Hello,\n.\nthe report is ready.\n"}});
  ASSERT_TRUE(result) << result.error().message();
  std::vector<std::string> messages = Delivered();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("To: someone@example.com"), std::string::npos) << messages[0];
  EXPECT_NE(messages[0].find("Subject: =?UTF-8?B?UsOpc3Vtw6k=?="), std::string::npos);
  EXPECT_NE(messages[0].find("From: agent@tandem.test"), std::string::npos);
}

TEST_F(SendEmailTest, IsExternalAndNeedsApproval) {
  auto tool = MakeSendEmailTool(options_, Secrets{});
  EXPECT_EQ(tool->effect(), EffectClass::kExternal);
  ToolsConfig config;
  EXPECT_TRUE(NeedsApproval(*tool, json::object(), config));
  config.auto_approve = {"send_email"};
  EXPECT_FALSE(NeedsApproval(*tool, json::object(), config));
}

TEST_F(SendEmailTest, RefusesHeaderInjectionAndBadAddresses) {
  EXPECT_FALSE(
      Send({{"to", "a@example.com"}, {"subject", "x\r\nBcc: victim@example.com"}, {"body", "b"}}));
  EXPECT_FALSE(Send({{"to", "a@example.com>\r\nRCPT TO:<x@y.z"}, {"subject", "s"}, {"body", "b"}}));
  EXPECT_FALSE(Send({{"to", "not-an-address"}, {"subject", "s"}, {"body", "b"}}));
  EXPECT_FALSE(Send({{"subject", "s"}, {"body", "b"}}));
  EXPECT_TRUE(Delivered().empty());
}

TEST_F(SendEmailTest, RecipientDomainsCanBeRestricted) {
  options_.allow_domains = {"example.com"};
  auto refused = Send(
      {{"to", json::array({"a@example.com", "b@elsewhere.org"})}, {"subject", "s"}, {"body", "b"}});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_TRUE(Delivered().empty());
}

TEST_F(SendEmailTest, RequiredTlsIsEnforced) {
  options_.tls = "required";  // The loopback server offers no STARTTLS.
  auto result = Send({{"to", "a@example.com"}, {"subject", "s"}, {"body", "b"}});
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message().find("STARTTLS"), std::string::npos)
      << result.error().message();
  EXPECT_TRUE(Delivered().empty());
}

TEST_F(SendEmailTest, UnconfiguredEmailIsAClearError) {
  options_.smtp_url.clear();
  auto result = Send({{"to", "a@example.com"}, {"subject", "s"}, {"body", "b"}});
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message().find("smtp_url"), std::string::npos);
}

}  // namespace
}  // namespace tandem::tools
