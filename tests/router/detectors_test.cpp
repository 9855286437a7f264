#include "tandem/router/detectors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tandem::router {

// Readable failure messages: "email[3,20)".
void PrintTo(const Finding& f, std::ostream* os) {
  *os << EntityTypeName(f.type) << "[" << f.start << "," << f.end << ")";
}

namespace {

class DetectorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<Scanner> scanner =
        Scanner::Create({.keywords = {"confidential", "机密", "合同", "секретно", "Überweisung"},
                         .patterns = {"PRJ-[0-9]{4}"}});
    ASSERT_TRUE(scanner) << scanner.error().message();
    scanner_.emplace(std::move(*scanner));
  }

  // The values found in `text` with the given type.
  std::vector<std::string> Found(const std::string& text, EntityType type) const {
    std::vector<std::string> out;
    for (const Finding& f : scanner_->Scan(text)) {
      if (f.type == type) out.push_back(text.substr(f.start, f.end - f.start));
    }
    return out;
  }
  // Every type name found in `text`.
  std::vector<std::string> Types(const std::string& text) const {
    std::vector<std::string> out;
    for (const Finding& f : scanner_->Scan(text))
      out.emplace_back(EntityTypeName(f.type));
    return out;
  }

  std::optional<Scanner> scanner_;
};

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST_F(DetectorsTest, FindsEmailAddressesInMixedScriptText) {
  EXPECT_THAT(Found("mail alice.smith+tag@example.co.uk today", EntityType::kEmail),
              ElementsAre("alice.smith+tag@example.co.uk"));
  EXPECT_THAT(Found("请联系张三，邮箱zhang.san@example.cn。谢谢", EntityType::kEmail),
              ElementsAre("zhang.san@example.cn"));
  EXPECT_THAT(Found("<bob@corp.example>", EntityType::kEmail), ElementsAre("bob@corp.example"));
}

TEST_F(DetectorsTest, IgnoresThingsThatOnlyLookLikeEmail) {
  EXPECT_THAT(Found("ping @channel and user@localhost and a@b.c", EntityType::kEmail), IsEmpty());
  EXPECT_THAT(Found("decorator @Override; npm i @scope/pkg@1.2.3", EntityType::kEmail), IsEmpty());
}

TEST_F(DetectorsTest, FindsPhoneNumbersInternationalChinaAndUs) {
  EXPECT_THAT(Found("call +86 138 1234 5678 now", EntityType::kPhone),
              ElementsAre("+86 138 1234 5678"));
  EXPECT_THAT(Found("电话13812345678，请回电", EntityType::kPhone), ElementsAre("13812345678"));
  EXPECT_THAT(Found("手机：159-1234-5678", EntityType::kPhone), ElementsAre("159-1234-5678"));
  EXPECT_THAT(Found("office (415) 555-2671, cell 415-555-2671", EntityType::kPhone),
              ElementsAre("(415) 555-2671", "415-555-2671"));
  EXPECT_THAT(Found("US +1 415 555 2671 / UK +44 20 7946 0958", EntityType::kPhone),
              ElementsAre("+1 415 555 2671", "+44 20 7946 0958"));
}

TEST_F(DetectorsTest, IgnoresDatesTimesVersionsAndShortNumbers) {
  std::string text = "on 2024-01-15 10:30:45 build 10.0.19045 v1.2.3 port 8080 id 12345678901";
  EXPECT_THAT(Types(text), IsEmpty());
  EXPECT_THAT(Found("tel 115-555-2671 (area code cannot start with 1)", EntityType::kPhone),
              IsEmpty());
}

TEST_F(DetectorsTest, FindsLuhnValidCardsWithSeparators) {
  EXPECT_THAT(Found("card 4111 1111 1111 1111 exp 12/29", EntityType::kPaymentCard),
              ElementsAre("4111 1111 1111 1111"));
  EXPECT_THAT(Found("卡号5500-0000-0000-0004。", EntityType::kPaymentCard),
              ElementsAre("5500-0000-0000-0004"));
  EXPECT_THAT(Found("amex 378282246310005 diners 3056 930902 5904", EntityType::kPaymentCard),
              ElementsAre("378282246310005", "3056 930902 5904"));
}

TEST_F(DetectorsTest, RejectsOrderNumbersFailingLuhnAndOddGroupings) {
  EXPECT_THAT(Found("order 4111111111111112 shipped", EntityType::kPaymentCard), IsEmpty());
  EXPECT_THAT(Found("ts 20240115103000 and 4111 11111 1111 111", EntityType::kPaymentCard),
              IsEmpty());
  EXPECT_THAT(Found("ref ABC4111111111111111 and 4111111111111111abc", EntityType::kPaymentCard),
              IsEmpty());
}

TEST_F(DetectorsTest, FindsIbansCompactAndGrouped) {
  EXPECT_THAT(Found("IBAN: DE89 3704 0044 0532 0130 00.", EntityType::kIban),
              ElementsAre("DE89 3704 0044 0532 0130 00"));
  EXPECT_THAT(Found("账户GB82WEST12345698765432转账", EntityType::kIban),
              ElementsAre("GB82WEST12345698765432"));
  EXPECT_THAT(Found("FR14 2004 1010 0505 0001 3M02 606", EntityType::kIban),
              ElementsAre("FR14 2004 1010 0505 0001 3M02 606"));
}

TEST_F(DetectorsTest, RejectsIbansFailingMod97) {
  EXPECT_THAT(Found("DE89 3704 0044 0532 0130 01 and XY12 3456", EntityType::kIban), IsEmpty());
}

TEST_F(DetectorsTest, FindsChinaResidentIdsWithCheckDigit) {
  EXPECT_THAT(Found("身份证号11010519491231002X，住址北京", EntityType::kChinaResidentId),
              ElementsAre("11010519491231002X"));
  EXPECT_THAT(Found("id 440308199901011234", EntityType::kChinaResidentId),
              ElementsAre("440308199901011234"));
}

TEST_F(DetectorsTest, RejectsChinaIdsWithBadCheckDigitOrDate) {
  EXPECT_THAT(Found("320106198001011234", EntityType::kChinaResidentId), IsEmpty());
  EXPECT_FALSE(ChinaResidentIdValid("110105194902301234"));  // 30 February
  EXPECT_FALSE(ChinaResidentIdValid("91010519491231002X"));  // region 9x
}

TEST_F(DetectorsTest, FindsSsnsOutsideNeverIssuedRanges) {
  EXPECT_THAT(Found("SSN 123-45-6789.", EntityType::kUsSsn), ElementsAre("123-45-6789"));
  EXPECT_THAT(
      Found("000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000", EntityType::kUsSsn),
      IsEmpty());
}

TEST_F(DetectorsTest, FindsIpv4AndIpv6ButNotVersions) {
  EXPECT_THAT(Found("host 192.168.1.10, gw 10.0.0.1.", EntityType::kIpAddress),
              ElementsAre("192.168.1.10", "10.0.0.1"));
  EXPECT_THAT(
      Found("addr 2001:db8::8a2e:370:7334 and fe80::1 and "
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            EntityType::kIpAddress),
      ElementsAre("2001:db8::8a2e:370:7334", "fe80::1", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"));
  EXPECT_THAT(Found("v1.2.3.4 1.2.3 256.1.1.1 1.2.3.4.5 12:30:45 std::string a::b "
                    "00:1a:2b:3c:4d:5e",
                    EntityType::kIpAddress),
              IsEmpty());
}

TEST_F(DetectorsTest, IgnoresUuids) {
  EXPECT_THAT(Types("request 123e4567-e89b-12d3-a456-426614174000 done"), IsEmpty());
}

TEST_F(DetectorsTest, FindsPrivateKeyBlocks) {
  std::string text =
      "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n";
  std::vector<std::string> found = Found(text, EntityType::kPrivateKey);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(found[0].starts_with("-----BEGIN RSA"));
  EXPECT_TRUE(found[0].ends_with("PRIVATE KEY-----"));
  EXPECT_THAT(
      Found("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", EntityType::kPrivateKey),
      IsEmpty());
  EXPECT_THAT(Found("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn", EntityType::kPrivateKey),
              ElementsAre("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn"));
}

TEST_F(DetectorsTest, FindsCloudKeysBearerTokensAndJwts) {
  EXPECT_THAT(Found("aws_access_key_id AKIAIOSFODNN7EXAMPLE", EntityType::kCloudAccessKey),
              ElementsAre("AKIAIOSFODNN7EXAMPLE"));
  EXPECT_THAT(Found("AKIAIOSFODNN7EXAMPLEX AKIA1234", EntityType::kCloudAccessKey), IsEmpty());
  EXPECT_THAT(Found("Authorization: Bearer abcDEF123456ghiJKL789", EntityType::kBearerToken),
              ElementsAre("abcDEF123456ghiJKL789"));
  EXPECT_THAT(Found("use a bearer token in the header", EntityType::kBearerToken), IsEmpty());
  std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
      "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
  EXPECT_THAT(Found("token=" + jwt + " end", EntityType::kJwt), ElementsAre(jwt));
  EXPECT_THAT(Found("eyJhbGciOiJIUzI1NiJ9 alone", EntityType::kJwt), IsEmpty());
}

TEST_F(DetectorsTest, FindsPasswordsInUrlsAndAssignments) {
  EXPECT_THAT(
      Found("DATABASE_URL=postgres://admin:s3cretPw@db.internal:5432/app", EntityType::kPassword),
      ElementsAre("s3cretPw"));
  EXPECT_THAT(Found("db_password = \"hunter22!\"", EntityType::kPassword),
              ElementsAre("hunter22!"));
  EXPECT_THAT(Found("密码 password: Zx9#kq77 请勿外传", EntityType::kPassword),
              ElementsAre("Zx9#kq77"));
  EXPECT_THAT(Found("password: please reset it; url https://example.com/a:b@c "
                    "postgres://app:${DB_PASS}@db/app",
                    EntityType::kPassword),
              IsEmpty());
}

TEST_F(DetectorsTest, FindsHighEntropyValuesAssignedToKeyLikeNames) {
  EXPECT_THAT(Found("\"api_key\": \"sk-9fQ2xL7vR3mN8kP1wZ4tY6hJ\"", EntityType::kSecret),
              ElementsAre("sk-9fQ2xL7vR3mN8kP1wZ4tY6hJ"));
  EXPECT_THAT(Found("CLIENT_SECRET=Gx81mZpQ0vT7rWb3Lk9N", EntityType::kSecret),
              ElementsAre("Gx81mZpQ0vT7rWb3Lk9N"));
  EXPECT_THAT(Found("api_key=your_api_key_here token: aaaaaaaaaaaaaaaaaaaa "
                    "monkey=Gx81mZpQ0vT7rWb3Lk9N sort_key=created_at",
                    EntityType::kSecret),
              IsEmpty());
}

TEST_F(DetectorsTest, MatchesKeywordsCaseInsensitivelyAcrossScripts) {
  EXPECT_THAT(Found("This is CONFIDENTIAL material", EntityType::kKeyword),
              ElementsAre("CONFIDENTIAL"));
  EXPECT_THAT(Found("本文件属于机密，涉及合同条款", EntityType::kKeyword),
              ElementsAre("机密", "合同"));
  EXPECT_THAT(Found("Документ СЕКРЕТНО", EntityType::kKeyword), ElementsAre("СЕКРЕТНО"));
  EXPECT_THAT(Found("die ÜBERWEISUNG erfolgt", EntityType::kKeyword), ElementsAre("ÜBERWEISUNG"));
  EXPECT_THAT(Found("I am confident it is secret", EntityType::kKeyword), IsEmpty());
}

TEST_F(DetectorsTest, MatchesConfiguredPatternsPerLine) {
  EXPECT_THAT(Found("项目 PRJ-1234 与 PRJ-12", EntityType::kPattern), ElementsAre("PRJ-1234"));
}

TEST_F(DetectorsTest, OrdinaryTextHasNoFindings) {
  std::string text =
      "The quarterly meeting is on Tuesday at 3 pm in room 204. 我们下周讨论产品路线图，"
      "预算约 1,200,000 元。See section 4.2.1 and RFC 9110; version 2.14.0 ships soon.";
  EXPECT_THAT(Types(text), IsEmpty());
}

TEST_F(DetectorsTest, ReportsOffsetsNotValues) {
  std::string text = "x 123-45-6789";
  std::vector<Finding> findings = scanner_->Scan(text);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0], (Finding{EntityType::kUsSsn, 2, 13, 0}));
}

TEST_F(DetectorsTest, DisabledTypesAreNotReported) {
  Result<Scanner> scanner = Scanner::Create({.disabled = {EntityType::kIpAddress}});
  ASSERT_TRUE(scanner);
  EXPECT_THAT(scanner->Scan("10.0.0.1 and fe80::1"), IsEmpty());
}

TEST_F(DetectorsTest, RejectsBadConfiguredDetectors) {
  EXPECT_FALSE(Scanner::Create({.keywords = {""}}));
  EXPECT_FALSE(Scanner::Create({.keywords = {"\xff\xfe"}}));
  Result<Scanner> bad = Scanner::Create({.patterns = {"([a-z"}});
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(), ::testing::HasSubstr("([a-z"));
}

TEST_F(DetectorsTest, SurvivesArbitraryBytes) {
  std::string noise;
  uint32_t state = 12345;
  for (int i = 0; i < 200000; ++i) {
    state = state * 1103515245 + 12345;
    noise.push_back(static_cast<char>(state >> 16));
  }
  noise += "-----BEGIN PRIVATE KEY-----";  // Unterminated block at the very end.
  std::vector<Finding> findings = scanner_->Scan(noise);
  for (const Finding& f : findings) {
    EXPECT_LE(f.start, f.end);
    EXPECT_LE(f.end, noise.size());
  }
  EXPECT_EQ(findings.back().type, EntityType::kPrivateKey);
}

}  // namespace
}  // namespace tandem::router

namespace tandem::router {
namespace {

// Embeds known entities at random places in filler text (English, Chinese, numbers that are
// not entities) and checks each is reported with its exact offsets and nothing else is.
TEST(DetectorsPropertyTest, EmbeddedEntitiesAreFoundAtTheirOffsets) {
  const std::vector<std::pair<EntityType, std::string>> entities = {
      {EntityType::kEmail, "wang.fang@corp.example.com"},
      {EntityType::kPhone, "+86 139 8765 4321"},
      {EntityType::kPhone, "13987654321"},
      {EntityType::kPaymentCard, "5500 0000 0000 0004"},
      {EntityType::kIban, "GB82 WEST 1234 5698 7654 32"},
      {EntityType::kChinaResidentId, "440308199901011234"},
      {EntityType::kUsSsn, "078-05-1120"},
      {EntityType::kIpAddress, "172.16.254.1"},
      {EntityType::kCloudAccessKey, "AKIAIOSFODNN7EXAMPLE"},
      {EntityType::kKeyword, "机密"},
  };
  const std::vector<std::string> filler = {"the", "report",  "季度", "预算",  "2.5",  "v3.1",
                                           "页",  "meeting", "42",   "notes", "因此", "x1"};
  Result<Scanner> scanner = Scanner::Create({.keywords = {"机密"}});
  ASSERT_TRUE(scanner);
  uint32_t state = 7;
  auto next = [&] {
    state = state * 1664525 + 1013904223;
    return state >> 8;
  };
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    std::vector<Finding> expected;
    for (int piece = 0; piece < 12; ++piece) {
      if (!text.empty()) text += ' ';
      if (next() % 4 == 0) {
        const auto& [type, value] = entities[next() % entities.size()];
        expected.push_back({type, text.size(), text.size() + value.size(), 0});
        text += value;
      } else {
        text += filler[next() % filler.size()];
      }
    }
    EXPECT_EQ(scanner->Scan(text), expected) << text;
  }
}

}  // namespace
}  // namespace tandem::router
