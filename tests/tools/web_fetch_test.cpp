// web_fetch against real loopback HTTP servers (allowlisted) and the address guard on its own.
#include "tandem/tools/web_fetch.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

#include "tandem/tools/http_get.h"
#include "tandem/tools/net_guard.h"

namespace tandem::tools {
namespace {

using nlohmann::json;

std::optional<std::string> ReasonFor(const std::string& text) {
  auto address = ParseNumericAddress(text);
  EXPECT_TRUE(address) << text;
  return ForbiddenAddressReason(reinterpret_cast<const sockaddr*>(&*address));
}

TEST(NetGuardTest, RefusesNonPublicAddresses) {
  for (const char* address : {"127.0.0.1",
                              "127.255.0.9",
                              "10.1.2.3",
                              "172.16.0.1",
                              "172.31.255.255",
                              "192.168.1.1",
                              "169.254.169.254",
                              "100.64.0.1",
                              "100.100.100.200",
                              "0.0.0.0",
                              "224.0.0.1",
                              "255.255.255.255",
                              "198.18.0.1",
                              "::1",
                              "::",
                              "fe80::1",
                              "fd00:ec2::254",
                              "fc00::1",
                              "::ffff:127.0.0.1",
                              "::ffff:10.0.0.1",
                              "64:ff9b::a9fe:a9fe",
                              "2002:7f00:1::1",
                              "ff02::1",
                              "::127.0.0.1",
                              "2001:db8::1",
                              "fec0::1"}) {
    EXPECT_TRUE(ReasonFor(address)) << address << " should be refused";
  }
}

TEST(NetGuardTest, AllowsPublicAddresses) {
  for (const char* address :
       {"93.184.216.34", "1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111",
        "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:0808:0808::1"}) {
    EXPECT_FALSE(ReasonFor(address)) << address << " should be allowed: " << *ReasonFor(address);
  }
}

TEST(NetGuardTest, AllowlistMatchesExactAndWildcard) {
  std::vector<std::string> allow = {"127.0.0.1", "*.example.com"};
  EXPECT_TRUE(HostAllowed("127.0.0.1", allow));
  EXPECT_TRUE(HostAllowed("docs.example.com", allow));
  EXPECT_FALSE(HostAllowed("example.com", allow));
  EXPECT_FALSE(HostAllowed("badexample.com", allow));
  EXPECT_FALSE(HostAllowed("localhost", allow));
}

TEST(CharsetTest, DecodesDeclaredAndSniffedCharsets) {
  EXPECT_EQ(DecodeCharset("caf\xE9", "iso-8859-1", false), "caf\xC3\xA9");
  EXPECT_EQ(DecodeCharset("<meta charset=\"windows-1252\"><p>\x93hi\x94", "", true),
            "<meta charset=\"windows-1252\"><p>\xE2\x80\x9Chi\xE2\x80\x9D");
  EXPECT_EQ(DecodeCharset("caf\xC3\xA9", "", false), "caf\xC3\xA9");
  EXPECT_EQ(DecodeCharset("caf\xE9", "", false), "caf\xC3\xA9");  // Not UTF-8: windows-1252.
  EXPECT_EQ(DecodeCharset("a\xFF", "no-such-charset", false), "a\xEF\xBF\xBD");
}

class WebFetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/page", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(
          "<html><head><title> Test  Page </title><script>var x = 'hidden';</script></head>"
          "<body><nav><a href='/nav'>Menu</a></nav><main><h1>Heading</h1>"
          "<p>First <b>para</b> with <a href='/docs?a=1'>a link</a>.</p>"
          "<ul><li>one</li><li>two <a href='https://example.org/x'>ext</a></li></ul>"
          "<p>again <a href='/docs?a=1'>same link</a></p></main></body></html>",
          "text/html; charset=utf-8");
    });
    server_.Get("/latin1", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("caf\xE9", "text/plain; charset=iso-8859-1");
    });
    server_.Get("/redirect-local",
                [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/page"); });
    server_.Get("/redirect-metadata", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("http://169.254.169.254/latest/meta-data/");
    });
    server_.Get("/redirect-private", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("http://10.0.0.1/admin");
    });
    server_.Get("/redirect-loop", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/redirect-loop");
    });
    server_.Get("/redirect-file", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("file:///etc/passwd");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(3 << 20, 'x'), "text/plain");
    });
    server_.Get("/binary", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string("\x89PNG\0\0", 6), "image/png");
    });
    server_.Get("/missing", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content("not here", "text/plain");
    });
    server_.Get("/drip", [this](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [this](size_t, httplib::DataSink& sink) {
        for (int i = 0; i < 100 && !stop_.load(); ++i) {
          if (!sink.write("x", 1)) return false;
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        sink.done();
        return true;
      });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the accept loop runs would be lost and join() would hang: wait for it.
    while (!server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    options_.allow_hosts = {"127.0.0.1"};
    options_.max_bytes = 64 << 10;
    context_.limits.timeout_s = 10;
  }
  void TearDown() override {
    stop_ = true;
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  Result<ToolResult> Fetch(const std::string& url) {
    auto tool = MakeWebFetchTool(options_);
    return tool->Invoke({{"url", url}}, context_);
  }

  httplib::Server server_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  int port_ = 0;
  FetchOptions options_;
  ToolContext context_;
};

TEST_F(WebFetchTest, ConvertsHtmlToTextWithNumberedLinks) {
  Result<ToolResult> result = Fetch(Url("/page"));
  ASSERT_TRUE(result) << result.error().message();
  const std::string& out = result->output;
  EXPECT_FALSE(result->is_error);
  EXPECT_NE(out.find("Title: Test Page"), std::string::npos) << out;
  EXPECT_NE(out.find("# Heading"), std::string::npos) << out;
  EXPECT_NE(out.find("First para with a link [1]."), std::string::npos) << out;
  EXPECT_NE(out.find("- two ext [2]"), std::string::npos) << out;
  EXPECT_NE(out.find("same link [1]"), std::string::npos) << out;
  EXPECT_NE(out.find("[1] " + Url("/docs?a=1")), std::string::npos) << out;
  EXPECT_NE(out.find("[2] https://example.org/x"), std::string::npos) << out;
  EXPECT_EQ(out.find("hidden"), std::string::npos) << out;
  EXPECT_EQ(out.find("Menu"), std::string::npos) << out;
}

TEST_F(WebFetchTest, LoopbackIsRefusedUnlessAllowlisted) {
  options_.allow_hosts.clear();
  for (const std::string& url : std::vector<std::string>{
           Url("/page"), "http://localhost:" + std::to_string(port_) + "/page",
           "http://2130706433:" + std::to_string(port_) + "/", "http://0x7f.1/",
           "http://[::1]:" + std::to_string(port_) + "/", "http://[::ffff:127.0.0.1]/",
           std::string("http://169.254.169.254/latest/meta-data/"),
           std::string("http://10.0.0.1/")}) {
    Result<ToolResult> result = Fetch(url);
    ASSERT_FALSE(result) << url << " was fetched";
    EXPECT_EQ(result.error().code(), ErrorCode::kPermissionDenied) << result.error().message();
  }
}

TEST_F(WebFetchTest, AllowlistIsPerHostName) {
  // 127.0.0.1 is allowlisted but "localhost" is not, although both reach the same server.
  Result<ToolResult> result = Fetch("http://localhost:" + std::to_string(port_) + "/page");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kPermissionDenied);
}

TEST_F(WebFetchTest, RedirectsAreCheckedAtEveryHop) {
  Result<ToolResult> ok = Fetch(Url("/redirect-local"));
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_NE(ok->output.find("Redirected from: " + Url("/redirect-local")), std::string::npos);
  for (const char* path : {"/redirect-metadata", "/redirect-private"}) {
    Result<ToolResult> refused = Fetch(Url(path));
    ASSERT_FALSE(refused) << path;
    EXPECT_EQ(refused.error().code(), ErrorCode::kPermissionDenied) << refused.error().message();
    EXPECT_NE(refused.error().message().find("redirect 1"), std::string::npos);
  }
  Result<ToolResult> file = Fetch(Url("/redirect-file"));
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message().find("only http and https"), std::string::npos)
      << file.error().message();
  Result<ToolResult> loop = Fetch(Url("/redirect-loop"));
  ASSERT_FALSE(loop);
  EXPECT_NE(loop.error().message().find("redirects"), std::string::npos);
}

TEST_F(WebFetchTest, OnlyHttpSchemes) {
  for (const char* url : {"file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1/",
                          "dict://127.0.0.1:11211/", "not a url"}) {
    Result<ToolResult> result = Fetch(url);
    ASSERT_FALSE(result) << url;
    EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument) << url;
  }
}

TEST_F(WebFetchTest, OversizedBodyIsCutOff) {
  context_.limits.max_output_bytes = 4096;
  Result<ToolResult> result = Fetch(Url("/big"));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(result->data["truncated"].get<bool>());
  EXPECT_NE(result->output.find("cut off after 65536 bytes"), std::string::npos);
  EXPECT_LE(result->output.size(), 4096u + 64);
}

TEST_F(WebFetchTest, SlowDripTimesOut) {
  options_.timeout_s = 1;
  Result<ToolResult> result = Fetch(Url("/drip"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kDeadlineExceeded) << result.error().message();
}

TEST_F(WebFetchTest, CharsetIsConverted) {
  Result<ToolResult> result = Fetch(Url("/latin1"));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_TRUE(result->output.ends_with("caf\xC3\xA9")) << result->output;
}

TEST_F(WebFetchTest, ErrorStatusAndBinaryBodiesAreReported) {
  Result<ToolResult> missing = Fetch(Url("/missing"));
  ASSERT_TRUE(missing);
  EXPECT_TRUE(missing->is_error);
  EXPECT_NE(missing->output.find("Status: 404"), std::string::npos);
  Result<ToolResult> binary = Fetch(Url("/binary"));
  ASSERT_TRUE(binary);
  EXPECT_TRUE(binary->is_error);
  EXPECT_NE(binary->output.find("not text"), std::string::npos);
}

TEST_F(WebFetchTest, UnresolvableHostIsNotFound) {
  Result<ToolResult> result = Fetch("http://no-such-host.invalid/");
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().code() == ErrorCode::kNotFound ||
              result.error().code() == ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace tandem::tools

namespace tandem::tools {
namespace {

TEST_F(WebFetchTest, ConnectionGoesToThePinnedAddressAndIsCheckedAgain) {
  // A made-up name that only exists through the pin: the connection must use the address the
  // guard checked, not a second DNS answer.
  HttpGetRequest request;
  request.url = "http://pinned.invalid:" + std::to_string(port_) + "/latin1";
  request.resolve = {"pinned.invalid:" + std::to_string(port_) + ":127.0.0.1"};
  Result<HttpGetResponse> pinned = HttpGet(request);
  ASSERT_TRUE(pinned) << pinned.error().message();
  EXPECT_EQ(pinned->connected_ip, "127.0.0.1");
  request.check_connect = [](const sockaddr* address) { return ForbiddenAddressReason(address); };
  Result<HttpGetResponse> refused = HttpGet(request);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(refused.error().message().find("127.0.0.1"), std::string::npos);
}

}  // namespace
}  // namespace tandem::tools
