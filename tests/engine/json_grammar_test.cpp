#include "tandem/engine/json_grammar.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

namespace tandem::engine {
namespace {

using nlohmann::json;

class JsonGrammarTest : public ::testing::Test {
 protected:
  std::unique_ptr<JsonGrammar> Grammar(const json& schema, JsonGrammarOptions options = {}) {
    Result<std::unique_ptr<JsonGrammar>> grammar = JsonGrammar::Compile(schema, options);
    EXPECT_TRUE(grammar.has_value()) << (grammar ? "" : grammar.error().message());
    return grammar ? std::move(*grammar) : nullptr;
  }
  // True when `text` is a complete text of the schema's language.
  bool Accepts(const json& schema, std::string_view text, JsonGrammarOptions options = {}) {
    grammars_.push_back(Grammar(schema, options));
    if (!grammars_.back()) return false;
    JsonMatcher matcher(*grammars_.back());
    return matcher.Feed(text) && matcher.IsComplete();
  }
  // True when `text` can still be completed.
  bool Viable(const json& schema, std::string_view text) {
    grammars_.push_back(Grammar(schema));
    if (!grammars_.back()) return false;
    JsonMatcher matcher(*grammars_.back());
    return matcher.Feed(text);
  }
  std::string CompileError(const json& schema) {
    Result<std::unique_ptr<JsonGrammar>> grammar = JsonGrammar::Compile(schema, {});
    return grammar ? std::string("compiled") : grammar.error().message();
  }

  std::vector<std::unique_ptr<JsonGrammar>> grammars_;
};

TEST_F(JsonGrammarTest, ScalarTypes) {
  EXPECT_TRUE(Accepts({{"type", "string"}}, R"("hi")"));
  EXPECT_FALSE(Accepts({{"type", "string"}}, "12"));
  EXPECT_TRUE(Accepts({{"type", "boolean"}}, "true"));
  EXPECT_TRUE(Accepts({{"type", "boolean"}}, "false"));
  EXPECT_FALSE(Accepts({{"type", "boolean"}}, "null"));
  EXPECT_TRUE(Accepts({{"type", "null"}}, "null"));
  EXPECT_TRUE(Accepts({{"type", "integer"}}, "-42"));
  EXPECT_FALSE(Accepts({{"type", "integer"}}, "4.5"));
  EXPECT_FALSE(Accepts({{"type", "integer"}}, "1e3"));
  EXPECT_FALSE(Accepts({{"type", "integer"}}, "012"));
  EXPECT_TRUE(Accepts({{"type", "number"}}, "-0.5e-3"));
  EXPECT_TRUE(Accepts({{"type", "number"}}, "0"));
  EXPECT_FALSE(Accepts({{"type", "number"}}, "1."));
  EXPECT_FALSE(Accepts({{"type", "number"}}, ".5"));
  EXPECT_FALSE(Accepts({{"type", "number"}}, "+1"));
  EXPECT_FALSE(Viable({{"type", "number"}}, "1.e"));
}

TEST_F(JsonGrammarTest, NumbersHaveBoundedDigits) {
  EXPECT_TRUE(Accepts({{"type", "integer"}}, "123456789012345"));
  EXPECT_FALSE(Viable({{"type", "integer"}}, "1234567890123456"));
  EXPECT_TRUE(Accepts({{"type", "number"}}, "1e99"));
  EXPECT_FALSE(Viable({{"type", "number"}}, "1e999"));
}

TEST_F(JsonGrammarTest, TypeArraysAllowEachType) {
  json schema = {{"type", {"string", "null"}}};
  EXPECT_TRUE(Accepts(schema, R"("x")"));
  EXPECT_TRUE(Accepts(schema, "null"));
  EXPECT_FALSE(Accepts(schema, "1"));
}

TEST_F(JsonGrammarTest, ObjectsRequireRequiredAndRejectUnknownByDefault) {
  json schema = json::parse(R"({"type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"]})");
  EXPECT_TRUE(Accepts(schema, R"({"city":"Paris"})"));
  EXPECT_TRUE(Accepts(schema, R"({"days":3,"city":"Paris"})"));
  EXPECT_TRUE(Accepts(schema, R"({ "city" : "Paris" , "days" : 3 })"));
  EXPECT_FALSE(Accepts(schema, R"({"days":3})"));
  EXPECT_FALSE(Accepts(schema, "{}"));
  EXPECT_FALSE(Viable(schema, R"({"cityx)"));
  EXPECT_FALSE(Viable(schema, R"({"other)"));
  EXPECT_FALSE(Viable(schema, R"({"city":"a","city")"));     // no key twice
  EXPECT_FALSE(Viable(schema, R"({"city":"a","days":1,)"));  // nothing left to add
  EXPECT_FALSE(Viable(schema, R"({"city":1)"));
}

TEST_F(JsonGrammarTest, AdditionalPropertiesWhenAllowed) {
  json schema = json::parse(R"({"type": "object", "properties": {"a": {"type": "integer"}},
    "additionalProperties": {"type": "string"}})");
  EXPECT_TRUE(Accepts(schema, R"({"a":1,"b":"x"})"));
  EXPECT_TRUE(Accepts(schema, R"({"ab":"x"})"));
  EXPECT_FALSE(Accepts(schema, R"({"b":2})"));
  EXPECT_FALSE(Accepts(schema, R"({"a":"x"})"));  // "a" is declared: its own schema applies
  EXPECT_TRUE(
      Accepts({{"type", "object"}, {"additionalProperties", true}}, R"({"k":[1,{"z":null}]})"));
}

TEST_F(JsonGrammarTest, EmptySchemaAllowsAnyValue) {
  EXPECT_TRUE(Accepts(json::object(), R"({"a":[1,"x",true,null,{"b":-2.5}]})"));
  EXPECT_TRUE(Accepts(json(true), "[]"));
  EXPECT_FALSE(Accepts(json::object(), "[1,]"));
}

TEST_F(JsonGrammarTest, EnumAndConst) {
  json schema = {{"enum", {"red", "green", 10, 1, nullptr}}};
  EXPECT_TRUE(Accepts(schema, R"("red")"));
  EXPECT_TRUE(Accepts(schema, "1"));
  EXPECT_TRUE(Accepts(schema, "10"));
  EXPECT_TRUE(Accepts(schema, "null"));
  EXPECT_FALSE(Viable(schema, R"("blue)"));
  EXPECT_FALSE(Accepts(schema, "2"));
  EXPECT_TRUE(Accepts({{"const", {{"k", 1}}}}, R"({"k":1})"));
  EXPECT_FALSE(Accepts({{"const", "x"}}, R"("y")"));
  // enum values of another type than "type" are dropped.
  EXPECT_FALSE(Accepts({{"type", "string"}, {"enum", {"a", 1}}}, "1"));
}

TEST_F(JsonGrammarTest, AnyOfFollowsBranchesInParallel) {
  json schema = json::parse(R"({"anyOf": [
    {"type": "object", "properties": {"name": {"const": "a"}, "x": {"type": "integer"}},
     "required": ["name", "x"]},
    {"type": "object", "properties": {"name": {"const": "b"}, "y": {"type": "string"}},
     "required": ["name", "y"]}]})");
  EXPECT_TRUE(Accepts(schema, R"({"name":"a","x":1})"));
  EXPECT_TRUE(Accepts(schema, R"({"name":"b","y":"s"})"));
  EXPECT_FALSE(Viable(schema, R"({"name":"a","y")"));
  EXPECT_TRUE(Accepts({{"oneOf", {{{"type", "integer"}}, {{"type", "string"}}}}}, R"("s")"));
}

TEST_F(JsonGrammarTest, AnyOfSiblingKeywordsApplyToEveryBranch) {
  json schema = json::parse(R"({"type": "object", "properties": {"id": {"type": "integer"}},
    "required": ["id"], "anyOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]},
                                 {"properties": {"b": {"type": "string"}}, "required": ["b"]}]})");
  EXPECT_TRUE(Accepts(schema, R"({"id":1,"a":"x"})"));
  EXPECT_FALSE(Accepts(schema, R"({"a":"x"})"));
  EXPECT_FALSE(Accepts(schema, R"({"id":1})"));
}

TEST_F(JsonGrammarTest, ArraysCountItems) {
  json schema = {
      {"type", "array"}, {"items", {{"type", "integer"}}}, {"minItems", 1}, {"maxItems", 2}};
  EXPECT_FALSE(Accepts(schema, "[]"));
  EXPECT_TRUE(Accepts(schema, "[1]"));
  EXPECT_TRUE(Accepts(schema, "[1, 2]"));
  EXPECT_FALSE(Viable(schema, "[1,2,"));
  EXPECT_FALSE(Viable(schema, R"(["a")"));
}

TEST_F(JsonGrammarTest, StringLengthsCountCodePoints) {
  json schema = {{"type", "string"}, {"minLength", 2}, {"maxLength", 3}};
  EXPECT_FALSE(Accepts(schema, R"("a")"));
  EXPECT_TRUE(Accepts(schema, R"("ab")"));
  EXPECT_TRUE(Accepts(schema, "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\""));  // é€😀
  EXPECT_TRUE(Accepts(schema, R"("a\n\u00e9")"));
  EXPECT_TRUE(Accepts(schema, R"("\ud83d\ude00x")"));  // a surrogate pair is one character
  EXPECT_FALSE(Viable(schema, R"("abcd)"));
}

TEST_F(JsonGrammarTest, StringsTakeValidUtf8AndEscapesOnly) {
  json schema = {{"type", "string"}};
  EXPECT_TRUE(Accepts(schema, R"("\"\\\/\b\f\n\r\t")"));
  EXPECT_FALSE(Viable(schema, R"("\x)"));
  EXPECT_FALSE(Viable(schema, "\"a\nb"));     // raw control characters
  EXPECT_TRUE(Viable(schema, "\"\xE2\x82"));  // an incomplete sequence can still complete
  EXPECT_FALSE(Viable(schema, "\"\xE2\x82\""));
  EXPECT_FALSE(Viable(schema, "\"\xC0\xAF"));      // overlong
  EXPECT_FALSE(Viable(schema, "\"\xED\xA0\x80"));  // encoded surrogate
  EXPECT_FALSE(Viable(schema, "\"\xF4\x90"));      // above U+10FFFF
  EXPECT_FALSE(Viable(schema, "\"\x80"));          // stray continuation byte
  EXPECT_FALSE(Viable(schema, R"("\udc)"));        // low surrogate first
  EXPECT_FALSE(Viable(schema, R"("\ud800x)"));     // high surrogate alone
  EXPECT_FALSE(Viable(schema, R"("\ud800\u0041)"));
  EXPECT_TRUE(Viable(schema, R"("\uD800\uDC)"));
}

TEST_F(JsonGrammarTest, WhitespaceIsBoundedPerGap) {
  json schema = {{"type", "array"}};
  JsonGrammarOptions options{.max_whitespace = 3};
  EXPECT_TRUE(Accepts(schema, "[   1,   2   ]", options));
  EXPECT_FALSE(Accepts(schema, "[    1]", options));
  EXPECT_TRUE(Accepts(schema, "  []", options));  // before the value too
  EXPECT_FALSE(Accepts(schema, "    []", options));
  EXPECT_FALSE(Accepts(schema, "[] ", options));  // none after it
  EXPECT_FALSE(Accepts(schema, "[\n1]", {.max_whitespace = 0}));
}

TEST_F(JsonGrammarTest, NumericBounds) {
  json schema = {{"type", "integer"}, {"minimum", 10}, {"maximum", 250}};
  EXPECT_TRUE(Accepts(schema, "10"));
  EXPECT_TRUE(Accepts(schema, "250"));
  EXPECT_FALSE(Accepts(schema, "9"));
  EXPECT_TRUE(Viable(schema, "2"));  // 20..29, 200..250
  EXPECT_TRUE(Viable(schema, "3"));  // 30..39
  EXPECT_FALSE(Accepts(schema, "3"));
  EXPECT_TRUE(Accepts(schema, "26"));
  EXPECT_FALSE(Viable(schema, "260"));
  EXPECT_FALSE(Viable(schema, "-"));
  EXPECT_FALSE(Viable(schema, "0"));
  json unit = {{"type", "number"}, {"exclusiveMinimum", 0}, {"maximum", 1}};
  EXPECT_TRUE(Accepts(unit, "0.5"));
  EXPECT_TRUE(Accepts(unit, "1"));
  EXPECT_TRUE(Accepts(unit, "1.0"));
  EXPECT_FALSE(Accepts(unit, "0"));
  EXPECT_TRUE(Viable(unit, "0."));
  EXPECT_FALSE(Viable(unit, "1.5"));
  EXPECT_FALSE(Viable(unit, "2"));
  EXPECT_FALSE(Viable(unit, "-"));
  EXPECT_FALSE(Viable(unit, "1e"));
  json negative = {{"type", "integer"}, {"minimum", -20}, {"maximum", -5}};
  EXPECT_TRUE(Accepts(negative, "-15"));
  EXPECT_FALSE(Viable(negative, "-3"));
  EXPECT_FALSE(Viable(negative, "1"));
}

TEST_F(JsonGrammarTest, RefsResolveLocalDefinitionsIncludingRecursion) {
  json schema = json::parse(R"({
    "$defs": {"tree": {"type": "object", "properties": {
      "label": {"type": "string"},
      "children": {"type": "array", "items": {"$ref": "#/$defs/tree"}}},
      "required": ["label"]}},
    "$ref": "#/$defs/tree"})");
  EXPECT_TRUE(Accepts(schema, R"({"label":"a","children":[{"label":"b","children":[]}]})"));
  EXPECT_FALSE(Viable(schema, R"({"label":"a","children":[{"x")"));
  json old_style = json::parse(R"({"definitions": {"n": {"type": "integer"}},
    "type": "array", "items": {"$ref": "#/definitions/n"}})");
  EXPECT_TRUE(Accepts(old_style, "[1,2]"));
  EXPECT_FALSE(Accepts(old_style, R"(["1"])"));
}

TEST_F(JsonGrammarTest, NestingIsBoundedByMaxDepth) {
  JsonGrammarOptions options{.max_depth = 3};
  EXPECT_TRUE(Accepts(json::object(), "[[1]]", options));
  EXPECT_TRUE(Accepts(json::object(), "[[[]]]", options));
  EXPECT_FALSE(Accepts(json::object(), "[[[1]]]", options));
}

TEST_F(JsonGrammarTest, AnnotationsAreIgnored) {
  json schema = json::parse(R"({"type": "string", "description": "d", "title": "t",
    "format": "date-time", "default": "x", "examples": ["y"]})");
  EXPECT_TRUE(Accepts(schema, R"("anything")"));
}

TEST_F(JsonGrammarTest, BadSchemasGiveErrorsNamingKeywordAndPath) {
  auto error = [&](std::string_view text) { return CompileError(json::parse(text)); };
  EXPECT_EQ(error(R"({"type":"object","properties":{"id":{"type":"string","pattern":"^a"}}})"),
            "compiling JSON Schema: unsupported JSON Schema keyword 'pattern' at "
            "#/properties/id");
  EXPECT_NE(error(R"({"type":"array","uniqueItems":true})").find("'uniqueItems' at #"),
            std::string::npos);
  EXPECT_NE(error(R"({"not":{}})").find("'not'"), std::string::npos);
  EXPECT_NE(error(R"({"type":"array","items":[{"type":"string"}]})").find("tuple form"),
            std::string::npos);
  EXPECT_NE(error(R"({"$ref":"https://example.com/s.json"})").find("only local references"),
            std::string::npos);
  EXPECT_NE(error(R"({"$ref":"#/$defs/missing"})").find("points at nothing"), std::string::npos);
  EXPECT_NE(error(R"({"$ref":"#/$defs/a","type":"string","$defs":{"a":{}}})")
                .find("'type' beside '$ref'"),
            std::string::npos);
  EXPECT_NE(error(R"({"$defs":{"a":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"})").find("cycle"),
            std::string::npos);
  EXPECT_NE(error(R"({"type":"strin"})").find("unknown type 'strin' at #"), std::string::npos);
  EXPECT_NE(error(R"({"enum":[]})").find("'enum' at #"), std::string::npos);
  EXPECT_NE(error(R"({"type":"integer","enum":["a"]})").find("no value of the given type"),
            std::string::npos);
  EXPECT_NE(error(R"({"type":"array","minItems":3,"maxItems":2})").find("'minItems' (3) exceeds"),
            std::string::npos);
  EXPECT_NE(error(R"({"type":"string","minLength":-1})").find("non-negative"), std::string::npos);
  EXPECT_NE(error(R"({"type":"integer","minimum":1.2,"maximum":1.8})").find("no integer"),
            std::string::npos);
  EXPECT_NE(error(R"({"type":"number","minimum":1e20})").find("supported range"),
            std::string::npos);
  EXPECT_NE(error(R"({"type":"object","properties":{"a":{}},"required":["b"]})")
                .find("required property 'b' at # is not declared"),
            std::string::npos);
  EXPECT_NE(error(R"({"properties":{"a":false}})").find("'false' at #/properties/a"),
            std::string::npos);
  EXPECT_NE(error("42").find("must be an object or a boolean"), std::string::npos);
  json many = {{"type", "object"}, {"properties", json::object()}};
  for (int i = 0; i < 65; ++i)
    many["properties"][fmt::format("p{}", i)] = json::object();
  EXPECT_NE(CompileError(many).find("at most 64"), std::string::npos);
  json deep = {{"type", "integer"}};
  for (int i = 0; i < 100; ++i)
    deep = {{"type", "array"}, {"items", deep}};
  EXPECT_NE(CompileError(deep).find("nested more than 64 deep"), std::string::npos);
  // Keywords of the wrong JSON type inside anyOf branches are refused, not thrown.
  EXPECT_NE(error(R"({"type":"object","required":["a"],"properties":{"a":{}},
                      "anyOf":[{"required":"a"}]})")
                .find("malformed schema"),
            std::string::npos);
}

TEST_F(JsonGrammarTest, LongEnumsSplitAcrossLiteralNodes) {
  json values = json::array();
  for (int i = 0; i < 150; ++i)
    values.push_back(fmt::format("v{}", i));
  json schema = {{"enum", values}};
  EXPECT_TRUE(Accepts(schema, R"("v0")"));
  EXPECT_TRUE(Accepts(schema, R"("v149")"));
  EXPECT_FALSE(Accepts(schema, R"("v150")"));
}

TEST_F(JsonGrammarTest, EscapedPropertyNamesMatchTheirSerializedForm) {
  json schema = {{"type", "object"},
                 {"properties",
                  {{"a\"b", {{"type", "integer"}}}, {"\xC3\xA9t\xC3\xA9", {{"type", "integer"}}}}},
                 {"required", {"a\"b"}}};
  EXPECT_TRUE(Accepts(schema, R"({"a\"b":1})"));
  EXPECT_TRUE(Accepts(schema, "{\"a\\\"b\":1,\"\xC3\xA9t\xC3\xA9\":2}"));
}

}  // namespace
}  // namespace tandem::engine
