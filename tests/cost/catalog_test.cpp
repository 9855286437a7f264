#include "tandem/cost/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include "support/temp_dir.h"

namespace tandem::cost {
namespace {

using ::testing::HasSubstr;

// A small catalog with one of each entry, to which tests append bad values.
constexpr char kMiniCatalog[] = R"(
[meta]
as_of = "2025-01-01"
sources = ["test"]

[instances."gpu.small"]
gpu = "T"
gpu_memory_gb = 16
usd_per_hour = 1.0
hardware = "hw"

[local."box"]
hardware = "hw"
purchase_usd = 3600
lifetime_years = 3
power_load_w = 500
power_idle_w = 100
electricity_usd_per_kwh = 0.2
operations_usd_per_month = 50

[throughput."hw"]
"8b" = { decode_tokens_per_s = 100, prefill_tokens_per_s = 1000 }
)";

Result<InstanceCatalog> Parse(const std::string& extra) {
  return InstanceCatalog::FromToml(std::string(kMiniCatalog) + extra, "mini.toml");
}

Result<Config> ConfigFrom(const testing::TempDir& dir, const std::string& text) {
  ConfigLoadOptions options;
  options.working_dir = dir.path();
  options.environment = std::map<std::string, std::string>{{"HOME", dir.path().string()}};
  return ParseConfig(text, "tandem.toml", options);
}

TEST(InstanceCatalogTest, ShippedCatalogHasTheDatedAwsPrices) {
  Result<InstanceCatalog> catalog = InstanceCatalog::Load(Config{});
  ASSERT_TRUE(catalog) << catalog.error().message();
  EXPECT_FALSE(catalog->as_of().empty());
  EXPECT_FALSE(catalog->sources().empty());
  for (auto [name, price, memory] :
       {std::tuple{"p3.2xlarge", 3.06, 16.0}, std::tuple{"g4dn.xlarge", 0.526, 16.0},
        std::tuple{"g5.xlarge", 1.006, 24.0}, std::tuple{"g6.xlarge", 0.8048, 24.0}}) {
    Result<CloudInstance> instance = catalog->Instance(name);
    ASSERT_TRUE(instance) << name;
    EXPECT_DOUBLE_EQ(instance->usd_per_hour, price) << name;
    EXPECT_DOUBLE_EQ(instance->gpu_memory_gb, memory) << name;
    EXPECT_EQ(instance->region, "us-east-1");
    EXPECT_TRUE(catalog->ThroughputFor(instance->hardware, "8b")) << name;
  }
  const SpotModel& spot = catalog->spot();
  EXPECT_DOUBLE_EQ(spot.discount_min, 0.5);
  EXPECT_DOUBLE_EQ(spot.discount_max, 0.7);
  EXPECT_DOUBLE_EQ(spot.interruption_notice_s, 120);
  // The default leaves spot at 30-50% of on-demand.
  EXPECT_GE(1 - spot.default_discount, 0.3);
  EXPECT_LE(1 - spot.default_discount, 0.5);
  EXPECT_FALSE(catalog->local_profiles().empty());
}

TEST(InstanceCatalogTest, ParsesEveryEntryOfAMinimalCatalog) {
  Result<InstanceCatalog> catalog = Parse("");
  ASSERT_TRUE(catalog) << catalog.error().message();
  EXPECT_EQ(catalog->as_of(), "2025-01-01");
  EXPECT_DOUBLE_EQ(catalog->Instance("gpu.small")->usd_per_hour, 1.0);
  EXPECT_DOUBLE_EQ(catalog->Local("box")->lifetime_years, 3);
  EXPECT_DOUBLE_EQ(catalog->Local("box")->utilisation, 1);  // Default when absent.
  std::optional<Throughput> t = catalog->ThroughputFor("hw", "8b");
  ASSERT_TRUE(t);
  EXPECT_DOUBLE_EQ(t->decode_tokens_per_s, 100);
  EXPECT_FALSE(catalog->ThroughputFor("hw", "70b"));
  EXPECT_EQ(catalog->ModelSizes(), std::vector<std::string>{"8b"});
}

TEST(InstanceCatalogTest, NegativePriceIsRejectedWithItsKeyAndLine) {
  Result<InstanceCatalog> catalog =
      Parse("[instances.\"bad\"]\nusd_per_hour = -2\nhardware = \"hw\"\n");
  ASSERT_FALSE(catalog);
  EXPECT_THAT(catalog.error().message(), HasSubstr("mini.toml:"));
  EXPECT_THAT(catalog.error().message(), HasSubstr("instances.\"bad\".usd_per_hour"));
  EXPECT_THAT(catalog.error().message(), HasSubstr("greater than zero (got -2)"));
}

TEST(InstanceCatalogTest, ZeroLifetimeIsRejected) {
  Result<InstanceCatalog> catalog = Parse(
      "[local.\"free\"]\nhardware = \"hw\"\npurchase_usd = 1\nlifetime_years = 0\n"
      "power_load_w = 1\nelectricity_usd_per_kwh = 0.1\n");
  ASSERT_FALSE(catalog);
  EXPECT_THAT(catalog.error().message(), HasSubstr("local.\"free\".lifetime_years"));
  EXPECT_THAT(catalog.error().message(), HasSubstr("must be greater than zero (got 0)"));
}

// Applies `text` as overrides of the mini catalog (the path configuration takes).
Status Override(const std::string& text) {
  Result<InstanceCatalog> catalog = Parse("");
  if (!catalog) return std::unexpected(catalog.error());
  toml::table table = toml::parse(std::string_view(text), std::string_view("override.toml"));
  return catalog->ApplyOverrides(table, "catalog");
}

TEST(InstanceCatalogTest, OutOfRangeValuesAreRejectedNamingKeyAndValue) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"[local.\"box\"]\nutilisation = 1.5", "greater than 0 and at most 1 (got 1.5)"},
           Case{"[local.\"box\"]\nelectricity_usd_per_kwh = -0.1", "must not be negative"},
           Case{"[local.\"box\"]\npurchase_usd = nan", "catalog.local.\"box\".purchase_usd"},
           Case{"[instances.\"gpu.small\"]\nusd_per_hour = inf", "greater than zero (got inf)"},
           Case{"[instances.\"gpu.small\"]\ngpu_count = 0", "between 1 and 1024"},
           Case{"[instances.\"gpu.small\"]\nusd_per_hour = \"3\"", "expected a number"},
           Case{"[spot]\ndefault_discount = 1.0", "at least 0 and below 1 (got 1)"},
           Case{"[spot]\ndiscount_min = 0.8\ndiscount_max = 0.6",
                "0.8 is above discount_max (0.6)"},
           Case{"[throughput.\"hw\"]\n\"8b\" = { decode_tokens_per_s = 0 }",
                "\"8b\".decode_tokens_per_s"},
           Case{"[throughput.\"hw\"]\n\"8b\" = 5", "expected a model size table"},
           Case{"[api]\ndecode_tokens_per_s = -1", "catalog.api.decode_tokens_per_s"},
           Case{"[api.size_class]\n\"m\" = 0", "catalog.api.size_class.m"},
           Case{"instances = 3", "expected a table of named entries"},
       }) {
    Status status = Override(c.text);
    ASSERT_FALSE(status) << c.text;
    EXPECT_THAT(status.error().message(), HasSubstr(c.message)) << c.text;
    EXPECT_THAT(status.error().message(), HasSubstr("override.toml")) << c.text;
  }
}

TEST(InstanceCatalogTest, OverrideOfOneFieldKeepsTheOthers) {
  Result<InstanceCatalog> catalog = Parse("");
  ASSERT_TRUE(catalog);
  toml::table table = toml::parse(std::string_view("[local.\"box\"]\nutilisation = 0.5\n"),
                                  std::string_view("o.toml"));
  ASSERT_TRUE(catalog->ApplyOverrides(table, "catalog"));
  EXPECT_DOUBLE_EQ(catalog->Local("box")->utilisation, 0.5);
  EXPECT_DOUBLE_EQ(catalog->Local("box")->purchase_usd, 3600);
}

TEST(InstanceCatalogTest, UnknownHardwareListsTheValidProfiles) {
  Result<InstanceCatalog> catalog =
      Parse("[instances.\"x\"]\nusd_per_hour = 1\nhardware = \"tpu\"\n");
  ASSERT_FALSE(catalog);
  EXPECT_THAT(catalog.error().message(), HasSubstr("unknown hardware profile \"tpu\" (valid: hw)"));
}

TEST(InstanceCatalogTest, NewEntriesNeedTheirRequiredKeys) {
  Result<InstanceCatalog> catalog = Parse("[instances.\"x\"]\nhardware = \"hw\"\n");
  ASSERT_FALSE(catalog);
  EXPECT_THAT(catalog.error().message(), HasSubstr("needs 'usd_per_hour'"));
  Result<InstanceCatalog> size =
      Parse("[throughput.\"hw2\"]\n\"8b\" = { decode_tokens_per_s = 5 }\n");
  ASSERT_FALSE(size);
  EXPECT_THAT(size.error().message(), HasSubstr("needs 'prefill_tokens_per_s'"));
}

TEST(InstanceCatalogTest, UnknownKeysAreNamedWithTheValidOnes) {
  Result<InstanceCatalog> catalog = Parse("[instances.\"gpu.big\"]\nprice = 3\n");
  ASSERT_FALSE(catalog);
  EXPECT_THAT(catalog.error().message(), HasSubstr("unknown key 'instances.\"gpu.big\".price'"));
  EXPECT_THAT(catalog.error().message(), HasSubstr("usd_per_hour"));
}

TEST(InstanceCatalogTest, EmptyCatalogIsAnError) {
  EXPECT_FALSE(InstanceCatalog::FromToml("", "empty.toml"));
  EXPECT_FALSE(InstanceCatalog::FromToml("[instances", "broken.toml"));
}

TEST(InstanceCatalogTest, LookupOfAnUnknownNameListsTheValidOnes) {
  Result<InstanceCatalog> catalog = Parse("");
  ASSERT_TRUE(catalog);
  Result<CloudInstance> missing = catalog->Instance("p9.huge");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(missing.error().message(), HasSubstr("\"p9.huge\" (valid: gpu.small)"));
  EXPECT_THAT(catalog->Local("nope").error().message(), HasSubstr("(valid: box)"));
}

TEST(InstanceCatalogTest, ConfigurationOverridesAndExtendsTheShippedCatalog) {
  testing::TempDir dir;
  Result<Config> config = ConfigFrom(dir, R"(
[catalog.instances."p3.2xlarge"]
usd_per_hour = 2.5

[catalog.instances."my-box"]
gpu = "NVIDIA L4"
usd_per_hour = 0.4
hardware = "l4-24gb"

[catalog.spot]
default_discount = 0.65

[catalog.throughput."l4-24gb"]
"8b" = { decode_tokens_per_s = 50 }
)");
  ASSERT_TRUE(config) << config.error().message();
  Result<InstanceCatalog> catalog = InstanceCatalog::Load(*config);
  ASSERT_TRUE(catalog) << catalog.error().message();
  EXPECT_DOUBLE_EQ(catalog->Instance("p3.2xlarge")->usd_per_hour, 2.5);
  EXPECT_EQ(catalog->Instance("p3.2xlarge")->gpu, "NVIDIA V100");  // Untouched fields stay.
  EXPECT_DOUBLE_EQ(catalog->Instance("my-box")->usd_per_hour, 0.4);
  EXPECT_DOUBLE_EQ(catalog->spot().default_discount, 0.65);
  EXPECT_DOUBLE_EQ(catalog->ThroughputFor("l4-24gb", "8b")->decode_tokens_per_s, 50);
  EXPECT_GT(catalog->ThroughputFor("l4-24gb", "8b")->prefill_tokens_per_s, 0);
}

TEST(InstanceCatalogTest, BadOverrideNamesTheConfigurationFileAndLine) {
  testing::TempDir dir;
  Result<Config> config =
      ConfigFrom(dir, "[catalog.local.\"workstation-rtx4090\"]\n\nlifetime_years = 0\n");
  ASSERT_TRUE(config) << config.error().message();
  Result<InstanceCatalog> catalog = InstanceCatalog::Load(*config);
  ASSERT_FALSE(catalog);
  EXPECT_THAT(catalog.error().message(), HasSubstr("tandem.toml:3"));
  EXPECT_THAT(catalog.error().message(),
              HasSubstr("catalog.local.\"workstation-rtx4090\".lifetime_years"));
}

TEST(InstanceCatalogTest, UnknownCatalogTableIsRejected) {
  testing::TempDir dir;
  Result<Config> config = ConfigFrom(dir, "[catalog.gpus]\nx = 1\n");
  ASSERT_TRUE(config) << config.error().message();
  Result<InstanceCatalog> catalog = InstanceCatalog::Load(*config);
  ASSERT_FALSE(catalog);
  EXPECT_THAT(catalog.error().message(), HasSubstr("unknown key 'catalog.gpus'"));
}

}  // namespace
}  // namespace tandem::cost
