//===- ManifestTest.cpp - manifest parsing and its messages ---------------===//

#include "TestUtil.h"

#include "braid/bundle_writer.h"
#include "runtime/src/Bundle.h"
#include "runtime/src/Error.h"
#include "runtime/src/Manifest.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace braid::rt;
using namespace braid::rt::test;
using json = nlohmann::json;

namespace {

std::string parseError(const json &m) {
  try {
    parseManifest(m.dump());
    return "";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), ErrorCode::Bundle);
    return e.what();
  }
}

TEST(Manifest, ParsesTheTinyModel) {
  Manifest m = parseManifest(tinyManifest(true).dump());
  EXPECT_EQ(m.formatVersion, 1);
  EXPECT_EQ(m.generator, "braid-runtime-tests");
  EXPECT_EQ(m.targets, std::vector<std::string>{"cpu"});
  ASSERT_EQ(m.weights.size(), 3u);
  EXPECT_EQ(m.weights[2].combine, Combine::Concat);
  EXPECT_EQ(m.weights[2].sources.size(), 2u);
  ASSERT_EQ(m.states.size(), 1u);
  EXPECT_EQ(formatDims(m.states[0].shape), "[B, S, 8]");
  const Entry *prefill = m.findEntry("prefill");
  ASSERT_TRUE(prefill);
  ASSERT_EQ(prefill->launches.size(), 4u);
  const Launch &norm = prefill->launches[1];
  EXPECT_EQ(norm.describe(), "rms_norm at final_norm");
  ASSERT_EQ(norm.attrs.size(), 1u);
  EXPECT_EQ(std::get<double>(norm.attrs[0].second), 1e-5);
  const Launch &lin = prefill->launches[3];
  EXPECT_EQ(lin.operands[2].kind, ArgKind::Absent);
  EXPECT_EQ(lin.results[0].kind, ArgKind::Output);
  EXPECT_EQ(lin.operands[1].index, 2u); // lm_head
  auto families = m.kernelFamilies();
  ASSERT_EQ(families.size(), 4u);
  EXPECT_EQ(families[0], (std::pair<std::string, size_t>{"embedding", 2}));
  EXPECT_EQ(m.weightElements(), 16 * 8 * 2 + 8);
}

// A state's dtype: f32 by default, bf16 for the KV caches of bf16 GPU
// bundles, never a type the runtime cannot size.
TEST(Manifest, StateDtypes) {
  json m = tinyManifest(true);
  EXPECT_EQ(parseManifest(m.dump()).states[0].dtype, ValueType::F32);
  m["states"][0]["dtype"] = "bf16";
  EXPECT_EQ(parseManifest(m.dump()).states[0].dtype, ValueType::BF16);
  m["states"][0]["dtype"] = "u8";
  EXPECT_NE(parseError(m).find("states[0] (acc).dtype"), std::string::npos)
      << parseError(m);
}

TEST(Manifest, WeightScale) {
  json m = tinyManifest();
  m["weights"][0]["scale"] = {0.5};
  EXPECT_EQ(parseManifest(m.dump()).weights[0].scale,
            std::vector<double>{0.5});
  std::vector<double> rows(16, 2.0);
  rows[3] = 1; // an integer is a number too
  m["weights"][0]["scale"] = rows;
  EXPECT_EQ(parseManifest(m.dump()).weights[0].scale, rows);
  EXPECT_TRUE(parseManifest(tinyManifest().dump()).weights[0].scale.empty());
}

// column_scale names a 1-D weight over the last dimension (a folded norm's
// weight) and resolves to its declaration; anything else names the field.
TEST(Manifest, WeightColumnScale) {
  json m = tinyManifest();
  m["weights"][2]["column_scale"] = "final_norm";
  Manifest parsed = parseManifest(m.dump());
  EXPECT_EQ(parsed.weights[2].columnScale, "final_norm");
  ASSERT_TRUE(parsed.weights[2].columnScaleDecl);
  EXPECT_EQ(parsed.weights[2].columnScaleDecl->name, "final_norm");
  EXPECT_FALSE(parsed.weights[0].columnScaleDecl);

  m["weights"][2]["column_scale"] = "nope";
  EXPECT_EQ(parseError(m), "manifest: weights[2] (lm_head).column_scale: "
                           "names no weight of the bundle: 'nope'");
  m["weights"][2]["column_scale"] = "embed";
  EXPECT_EQ(parseError(m),
            "manifest: weights[2] (lm_head).column_scale: weight 'embed' has "
            "shape [16, 8], expected [8] (one factor per index of the last "
            "dimension of [16, 8])");
  m["weights"][2]["column_scale"] = "final_norm";
  m["weights"][1]["column_scale"] = "final_norm";
  EXPECT_EQ(parseError(m), "manifest: weights[1] (final_norm).column_scale: "
                           "weight 'final_norm' has a column_scale of its own");
}

TEST(Manifest, AttributeKinds) {
  json m = tinyManifest();
  m["entries"][0]["launches"][1]["attrs"] = {
      {"epsilon", 1e-5},   {"count", 3},         {"flag", true},
      {"mode", "silu"},    {"window", "inf"},    {"neg", "-inf"},
      {"ints", {1, 2, 3}}, {"floats", {0.5, 2}}, {"empty", json::array()}};
  Manifest parsed = parseManifest(m.dump());
  std::map<std::string, AttrValue> attrs(
      parsed.entries[0].launches[1].attrs.begin(),
      parsed.entries[0].launches[1].attrs.end());
  EXPECT_EQ(std::get<double>(attrs["epsilon"]), 1e-5);
  EXPECT_EQ(std::get<int64_t>(attrs["count"]), 3);
  EXPECT_EQ(std::get<bool>(attrs["flag"]), true);
  EXPECT_EQ(std::get<std::string>(attrs["mode"]), "silu");
  EXPECT_TRUE(std::isinf(std::get<double>(attrs["window"])));
  EXPECT_LT(std::get<double>(attrs["neg"]), 0);
  EXPECT_EQ(std::get<std::vector<int64_t>>(attrs["ints"]),
            (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(std::get<std::vector<double>>(attrs["floats"]),
            (std::vector<double>{0.5, 2.0}));
  EXPECT_TRUE(std::get<std::vector<int64_t>>(attrs["empty"]).empty());

  m["entries"][0]["launches"][1]["attrs"] = {{"names", {"a", "b"}}};
  EXPECT_EQ(parseError(m),
            "manifest: entries[0] (prefill).launches[1] (rms_norm at "
            "final_norm).attrs.names[0]: array attributes hold numbers only, "
            "found a string");
}

struct Drop {
  json::json_pointer where;
  std::string message;
};

TEST(Manifest, MissingFieldsAreNamed) {
  const std::string l0 =
      "entries[0] (prefill).launches[0] (embedding at embed)";
  std::vector<Drop> drops = {
      {json::json_pointer("/format_version"),
       "manifest: top level: missing field 'format_version'"},
      {json::json_pointer("/model"),
       "manifest: top level: missing field 'model'"},
      {json::json_pointer("/vocab_size"),
       "manifest: top level: missing field 'vocab_size'"},
      {json::json_pointer("/targets"),
       "manifest: top level: missing field 'targets'"},
      {json::json_pointer("/weights"),
       "manifest: top level: missing field 'weights'"},
      {json::json_pointer("/states"),
       "manifest: top level: missing field 'states'"},
      {json::json_pointer("/arena"),
       "manifest: top level: missing field 'arena'"},
      {json::json_pointer("/arena/bytes_per_token"),
       "manifest: arena: missing field 'bytes_per_token'"},
      {json::json_pointer("/entries"),
       "manifest: top level: missing field 'entries'"},
      {json::json_pointer("/weights/1/name"),
       "manifest: weights[1]: missing field 'name'"},
      {json::json_pointer("/weights/1/shape"),
       "manifest: weights[1] (final_norm): missing field 'shape'"},
      {json::json_pointer("/weights/1/sources"),
       "manifest: weights[1] (final_norm): missing field 'sources'"},
      {json::json_pointer("/weights/2/sources/1/tensor"),
       "manifest: weights[2] (lm_head).sources[1]: missing field 'tensor'"},
      {json::json_pointer("/weights/2/sources/1/shape"),
       "manifest: weights[2] (lm_head).sources[1]: missing field 'shape'"},
      {json::json_pointer("/entries/0/name"),
       "manifest: entries[0]: missing field 'name'"},
      {json::json_pointer("/entries/0/inputs"),
       "manifest: entries[0] (prefill): missing field 'inputs'"},
      {json::json_pointer("/entries/0/outputs"),
       "manifest: entries[0] (prefill): missing field 'outputs'"},
      {json::json_pointer("/entries/0/launches"),
       "manifest: entries[0] (prefill): missing field 'launches'"},
      {json::json_pointer("/entries/0/inputs/0/dtype"),
       "manifest: entries[0] (prefill).inputs[0] (input_ids): missing field "
       "'dtype'"},
      {json::json_pointer("/entries/0/launches/0/kernel"),
       "manifest: entries[0] (prefill).launches[0]: missing field 'kernel'"},
      {json::json_pointer("/entries/0/launches/0/operands"),
       "manifest: " + l0 + ": missing field 'operands'"},
      {json::json_pointer("/entries/0/launches/0/results"),
       "manifest: " + l0 + ": missing field 'results'"},
      {json::json_pointer("/entries/0/launches/0/results/0/offset"),
       "manifest: " + l0 + ".results[0]: missing field 'offset'"},
      {json::json_pointer("/entries/0/launches/0/results/0/kind"),
       "manifest: " + l0 + ".results[0]: missing field 'kind'"},
      {json::json_pointer("/entries/0/launches/0/operands/1/name"),
       "manifest: " + l0 + ".operands[1]: missing field 'name'"},
  };
  for (const Drop &d : drops) {
    json m = tinyManifest();
    json &parent = m.at(d.where.parent_pointer());
    std::string key = d.where.back();
    if (parent.is_object())
      parent.erase(key);
    EXPECT_EQ(parseError(m), d.message) << d.where.to_string();
  }
}

TEST(Manifest, MissingFieldThroughTheBundle) {
  json m = tinyManifest();
  m["weights"][0].erase("sources");
  std::string path = freshDir("drop") + "/m.bundle";
  BundleWriteOptions unchecked;
  unchecked.checkManifest = false;
  ASSERT_EQ(writeBundle(path, m.dump(), {}, unchecked), "");
  try {
    Bundle::open(path);
    FAIL();
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()),
              path + ": manifest: weights[0] (embed): missing field 'sources'");
  }
}

TEST(Manifest, Rejections) {
  auto with = [](const char *pointer, json value) {
    json m = tinyManifest();
    m[json::json_pointer(pointer)] = value;
    return parseError(m);
  };
  EXPECT_EQ(parseError(json::array()),
            "manifest: top level: expected an object, found an array");
  EXPECT_EQ(with("/format_version", 2),
            "manifest: format_version 2 is newer than this runtime reads (1)");
  EXPECT_EQ(with("/vocab_size", "many"),
            "manifest: vocab_size: expected an integer, found a string");
  EXPECT_EQ(with("/vocab_size", 0),
            "manifest: vocab_size: expected a positive integer, found 0");
  EXPECT_EQ(with("/targets", json::array()),
            "manifest: targets: the list of targets is empty");
  EXPECT_EQ(with("/weights/0/shape", {"B", 8}),
            "manifest: weights[0] (embed).shape[0]: expected a constant "
            "dimension, found 'B' (weights have static shapes)");
  EXPECT_EQ(with("/weights/0/combine", "zip"),
            "manifest: weights[0] (embed).combine: unknown combine 'zip' "
            "(expected single, concat, stack or stack_of_concat)");
  EXPECT_EQ(with("/weights/0/scale", {1.0, 2.0}),
            "manifest: weights[0] (embed).scale: 2 factors: expected 1 or one "
            "per index of the first dimension (16)");
  EXPECT_EQ(with("/weights/0/scale", {"x"}),
            "manifest: weights[0] (embed).scale[0]: expected a finite number, "
            "found a string");
  EXPECT_EQ(with("/weights/0/elementwise", "exp"),
            "manifest: weights[0] (embed).elementwise: unknown elementwise "
            "'exp' (expected identity or neg_exp)");
  EXPECT_EQ(with("/weights/0/shape", {16, 9}),
            "manifest: weights[0] (embed): single of the sources gives [16, 8] "
            "(128 elements), which cannot be reshaped to [16, 9] (144 "
            "elements)");
  EXPECT_EQ(with("/weights/2/axis", 1),
            "manifest: weights[2] (lm_head): cannot concatenate 'lm_head.b' "
            "[6, 8] with 'lm_head.a' [10, 8] along axis 1");
  EXPECT_EQ(with("/weights/2/axis", 2),
            "manifest: weights[2] (lm_head): axis 2 is out of range for source "
            "'lm_head.a' of shape [10, 8]");
  EXPECT_EQ(with("/weights/2/shape", {17, 8}),
            "manifest: weights[2] (lm_head): concat of the sources gives [16, "
            "8] (128 elements), which cannot be reshaped to [17, 8] (136 "
            "elements)");
  EXPECT_EQ(with("/weights/2/combine", "single"),
            "manifest: weights[2] (lm_head): combine 'single' takes exactly "
            "one source, found 2");
  EXPECT_EQ(with("/weights/2/combine", "stack"),
            "manifest: weights[2] (lm_head): cannot stack 'lm_head.b' [6, 8] "
            "with 'lm_head.a' [10, 8]");
  EXPECT_EQ(with("/weights/1/name", "embed"),
            "manifest: weights[1]: duplicate weight 'embed'");
  EXPECT_EQ(with("/weights/1/dtype", "i64"),
            "manifest: weights[1] (final_norm).dtype: unsupported dtype 'i64' "
            "(expected one of: f32, f16, bf16)");
  EXPECT_EQ(with("/states", {{{"name", "s"}, {"shape", {"B", "T"}}}}),
            "manifest: states[0] (s).shape[1]: symbol 'T' is not allowed here "
            "(states live across calls: B and S only)");
  EXPECT_EQ(with("/states", {{{"name", "s"}, {"shape", {"Q"}}}}),
            "manifest: states[0] (s).shape[0]: unknown dimension symbol 'Q' "
            "(the runtime binds B, T and S)");
  EXPECT_EQ(with("/entries/1/name", "prefill"),
            "manifest: entries[1]: duplicate entry 'prefill'");
  EXPECT_EQ(with("/entries/0/name", "train"),
            "manifest: entries[0] (train).name: unknown entry 'train' "
            "(expected prefill, decode, prefill_last or decode_greedy)");
  EXPECT_EQ(with("/entries/0/inputs/1/name", "mask"),
            "manifest: entries[0] (prefill).inputs[1] (mask): unknown input "
            "'mask' (the runtime provides input_ids, positions and "
            "cache_position)");
  EXPECT_EQ(with("/entries/0/outputs/0/shape", {"B", "T", 15}),
            "manifest: entries[0] (prefill).outputs[0] (logits): shape [B, T, "
            "15] does not hold vocab_size logits per token ([B, T, "
            "vocab_size])");
  EXPECT_EQ(with("/entries/0/launches/0/operands/1/name", "embedding"),
            "manifest: entries[0] (prefill).launches[0] (embedding at "
            "embed).operands[1].name: unknown weight 'embedding'");
  EXPECT_EQ(with("/entries/0/launches/0/operands/0/name", "tokens"),
            "manifest: entries[0] (prefill).launches[0] (embedding at "
            "embed).operands[0].name: entry 'prefill' has no input 'tokens'");
  EXPECT_EQ(with("/entries/0/launches/0/operands/1/kind", "constant"),
            "manifest: entries[0] (prefill).launches[0] (embedding at "
            "embed).operands[1].kind: unknown argument kind 'constant' "
            "(expected arena, weight, state, input or output)");
  EXPECT_EQ(with("/entries/0/launches/0/operands/1/shape", {8, 16}),
            "manifest: entries[0] (prefill).launches[0] (embedding at "
            "embed).operands[1].shape: shape [8, 16] of 'embed' differs from "
            "its declaration [16, 8]");
  EXPECT_EQ(with("/entries/0/launches/0/results/0", nullptr),
            "manifest: entries[0] (prefill).launches[0] (embedding at "
            "embed).results[0]: a result cannot be null (absent optional "
            "results are left out)");
  EXPECT_EQ(with("/entries/0/launches/2/results/0",
                 {{"kind", "arena"}, {"offset", 0}, {"shape", {"B", "T", 16}}}),
            "manifest: entries[0] (prefill): no launch writes the output "
            "'logits'");
  EXPECT_EQ(with("/weights/0/shape", {int64_t(1) << 40, int64_t(1) << 40}),
            "manifest: weights[0] (embed).shape: shape [1099511627776, "
            "1099511627776] is too large");
  EXPECT_EQ(
      with("/states", {{{"name", "s"},
                        {"shape", {"B", int64_t(1) << 30, int64_t(1) << 30}}}}),
      "manifest: states[0] (s).shape: shape [B, 1073741824, 1073741824] "
      "is too large");
  EXPECT_EQ(with("/entries/0/launches/0/results/0/offset", 65),
            "manifest: entries[0] (prefill).launches[0] (embedding at "
            "embed).results[0].offset: offset 65 is beyond the arena's "
            "bytes_per_token 64");
  json m = tinyManifest();
  m["entries"].erase(0);
  EXPECT_EQ(parseError(m), "manifest: entries: no 'prefill' entry");
}

// Inputs are read-only except for greedy_next in decode_greedy, which
// writes the next step's ids and advances the positions.
TEST(Manifest, OnlyGreedyNextWritesInputs) {
  json ids = {{"kind", "input"}, {"name", "input_ids"}};
  json m = tinyManifest();
  m["entries"][0]["launches"][0]["results"].push_back(ids);
  EXPECT_EQ(parseError(m),
            "manifest: entries[0] (prefill).launches[0] (embedding at "
            "embed).results[1]: input 'input_ids' cannot be a result (only "
            "greedy_next in decode_greedy updates its inputs)");

  json greedy = tinyManifest();
  json entry = greedy["entries"][0];
  entry["name"] = "decode_greedy";
  entry["launches"].push_back(
      {{"kernel", "greedy_next"},
       {"operands", {{{"kind", "output"}, {"name", "logits"}}}},
       {"results", {ids}}});
  greedy["entries"].push_back(entry);
  Manifest parsed = parseManifest(greedy.dump());
  EXPECT_EQ(parsed.entries.back().name, "decode_greedy");
  EXPECT_EQ(parsed.entries.back().launches.back().results[0].kind,
            ArgKind::Input);
}

TEST(Manifest, InvalidJson) {
  try {
    parseManifest("{\"format_version\": 1,");
    FAIL();
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()).rfind("manifest: invalid JSON: parse "
                                          "error at line 1, column 22",
                                          0),
              0u)
        << e.what();
  }
}

} // namespace
