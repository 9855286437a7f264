#include "tandem/llm/price_catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tandem::llm {
namespace {

using ::testing::HasSubstr;

Config ConfigWith(const std::string& toml) {
  ConfigLoadOptions options;
  options.environment = std::map<std::string, std::string>{};
  auto config = ParseConfig(toml, "tandem.toml", options);
  EXPECT_TRUE(config) << config.error().message();
  return *config;
}

TEST(PriceCatalogTest, ShippedCatalogIsDatedAndPricesKnownModels) {
  auto catalog = PriceCatalog::Load(ConfigWith(""));
  ASSERT_TRUE(catalog) << catalog.error().message();
  EXPECT_FALSE(catalog->as_of().empty());
  EXPECT_FALSE(catalog->sources().empty());
  auto price = catalog->Find("gpt-4o-mini");
  ASSERT_TRUE(price);
  EXPECT_DOUBLE_EQ(price->input_cost_per_token, 1.5e-7);
  // 1000 prompt tokens of which 400 cached, 500 completion tokens.
  auto cost = catalog->Cost("gpt-4o-mini", Usage{1000, 500, 400, false});
  ASSERT_TRUE(cost);
  EXPECT_NEAR(*cost, 600 * 1.5e-7 + 400 * 7.5e-8 + 500 * 6.0e-7, 1e-15);
}

TEST(PriceCatalogTest, UnknownModelsAreNotPricedAtZero) {
  auto catalog = PriceCatalog::Load(ConfigWith(""));
  ASSERT_TRUE(catalog);
  EXPECT_FALSE(catalog->Cost("no-such-model", Usage{10, 10, 0, false}).has_value());
}

TEST(PriceCatalogTest, ConfigurationOverridesAndAddsModels) {
  auto catalog = PriceCatalog::Load(ConfigWith(R"(
[catalog.models."gpt-4o-mini"]
input_cost_per_token = 1e-6
[catalog.models."my-local"]
input_cost_per_token = 0
output_cost_per_token = 0
)"));
  ASSERT_TRUE(catalog) << catalog.error().message();
  EXPECT_DOUBLE_EQ(catalog->Find("gpt-4o-mini")->input_cost_per_token, 1e-6);
  EXPECT_DOUBLE_EQ(catalog->Find("gpt-4o-mini")->output_cost_per_token, 6.0e-7);
  EXPECT_EQ(catalog->Cost("my-local", Usage{10, 10, 0, false}), 0.0);
}

TEST(PriceCatalogTest, ProviderPriceTablesOverrideTheirModel) {
  auto catalog = PriceCatalog::Load(ConfigWith(R"(
[[providers]]
name = "router"
base_url = "https://openrouter.example/v1"
model = "house-model"
zone = "cloud"
price = { input_cost_per_token = 2e-6, output_cost_per_token = 4e-6 }
)"));
  ASSERT_TRUE(catalog) << catalog.error().message();
  EXPECT_DOUBLE_EQ(*catalog->Cost("house-model", Usage{1000, 100, 0, false}),
                   1000 * 2e-6 + 100 * 4e-6);
  auto bad = PriceCatalog::Load(
      ConfigWith("[[providers]]\nname = \"x\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"\n"
                 "price = { input_cost_per_token = -1, output_cost_per_token = 0 }\n"));
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(), HasSubstr("providers[0].price.input_cost_per_token"));
}

TEST(PriceCatalogTest, BadOverridesNameTheKey) {
  auto negative =
      PriceCatalog::Load(ConfigWith("[catalog.models.\"gpt-4o\"]\ninput_cost_per_token = -1\n"));
  ASSERT_FALSE(negative);
  EXPECT_THAT(negative.error().message(), HasSubstr("tandem.toml:2"));
  EXPECT_THAT(negative.error().message(), HasSubstr("must not be negative"));
  auto incomplete =
      PriceCatalog::Load(ConfigWith("[catalog.models.\"new\"]\ninput_cost_per_token = 1\n"));
  ASSERT_FALSE(incomplete);
  EXPECT_THAT(incomplete.error().message(), HasSubstr("output_cost_per_token"));
  auto unknown = PriceCatalog::Load(ConfigWith("[catalog.models.\"gpt-4o\"]\nprice = 1\n"));
  ASSERT_FALSE(unknown);
  EXPECT_THAT(unknown.error().message(), HasSubstr("unknown key"));
}

TEST(PriceCatalogTest, MalformedCatalogJsonIsRejected) {
  EXPECT_FALSE(PriceCatalog::FromJson("[", "x.json"));
  auto missing = PriceCatalog::FromJson(R"({"m": {"input_cost_per_token": 1}})", "x.json");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message(), HasSubstr("model \"m\""));
  EXPECT_FALSE(PriceCatalog::FromJson(
      R"({"m": {"input_cost_per_token": -1, "output_cost_per_token": 1}})", "x.json"));
}

}  // namespace
}  // namespace tandem::llm
